"""Training data that needs no download: Python's own sources, Markov languages with a known entropy, a
translation pair.

Every corpus hands out training windows of ``ctx + 1`` bytes from a seeded
generator and a *fixed* evaluation set, and reports a content hash that goes
into every result row (``source_commit``), so a row always says exactly what
it was trained on.

``pystdlib``
    The ``.py`` files of the running interpreter's standard library
    (``sysconfig.get_paths()["stdlib"]``), found recursively, *excluding* any
    file with a directory named ``site-packages``, ``dist-packages``,
    ``__pycache__``, ``test``, ``tests`` or ``idle_test`` in its path,
    sorted by relative POSIX path, each followed by one NUL byte (a document
    separator that never occurs in source).  A file is held out for
    evaluation when the first 8 hex digits of the SHA-256 of its relative
    path, read as an integer, are divisible by 20 (about 5 %).  The hash is
    SHA-256 over, for every file in order, ``path + NUL + size + NUL +
    bytes``.  The file set differs between Python versions (3.11: 734 files,
    12.1 MB), which is why the hash is recorded.

``zipf``
    An order-1 Markov chain over 256 symbols whose every transition row is a
    (seeded) permutation of one Zipf law ``p_r ∝ r^-s`` (``s = 1.2``).  Because
    every row has the same entropy, the entropy rate is *exactly* that of the
    Zipf law, ``H = 3.666594`` nats for ``s = 1.2``, and it is also the best
    achievable loss at every position of every window, whatever the start
    state: the irreducible loss E a fit should find.  Windows start in the
    chain's stationary distribution.

``trap``
    A source in which every two-symbol context has one usual successor
    (90 %), otherwise a uniform draw: a frequent pattern whose unpredictable
    exceptions the inverse-scaling preset evaluates (see :class:`TrapCorpus`).

``translate``
    (source, target) sentence pairs for the encoder-decoder of the ``nmt``
    preset: Zipf-Markov source sentences, idioms by word pair, local
    reordering, agreement with the emitted target word and 10 % target
    noise, so the best possible loss is known exactly (0.876186 nats per
    target word; see :class:`TranslateCorpus`).  A window is
    ``[source | BOS | target]`` and ``ctx`` is the target length.
"""

from __future__ import annotations

import functools
import hashlib
import math
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EXCLUDED_DIRS = frozenset({"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"})
SEPARATOR = b"\x00"
EVAL_MODULUS = 20


def stdlib_files(root: Path | None = None) -> list[Path]:
    """The documented, deterministic file list of the ``pystdlib`` corpus (relative paths)."""
    root = Path(root or sysconfig.get_paths()["stdlib"])
    out = []
    for f in root.rglob("*.py"):
        rel = f.relative_to(root)
        if EXCLUDED_DIRS.intersection(rel.parts[:-1]) or not f.is_file():
            continue
        out.append(rel)
    return sorted(out, key=lambda p: p.as_posix())


def _is_eval(rel: Path) -> bool:
    return int(hashlib.sha256(rel.as_posix().encode()).hexdigest()[:8], 16) % EVAL_MODULUS == 0


@dataclass(frozen=True)
class CorpusInfo:
    name: str
    content_hash: str  # "sha256:<hex>"
    train_bytes: int
    eval_bytes: int
    entropy_rate: float | None  # nats/token, exact, for synthetic sources
    description: str


class Corpus:
    """Interface: ``info``, ``train_windows(rng, n, ctx)`` and ``eval_windows(n, ctx)``."""

    info: CorpusInfo

    def train_windows(self, rng: np.random.Generator, n: int, ctx: int) -> np.ndarray:
        raise NotImplementedError

    def eval_windows(self, n: int, ctx: int) -> np.ndarray:
        raise NotImplementedError


class StdlibCorpus(Corpus):
    def __init__(self, root: Path | None = None):
        root = Path(root or sysconfig.get_paths()["stdlib"])
        files = stdlib_files(root)
        if not files:
            raise FileNotFoundError(f"no .py files under {root}")
        digest = hashlib.sha256()
        train, evals = [], []
        for rel in files:
            data = (root / rel).read_bytes()
            digest.update(rel.as_posix().encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
            (evals if _is_eval(rel) else train).append(data + SEPARATOR)
        self.train = np.frombuffer(b"".join(train), dtype=np.uint8)
        self.eval = np.frombuffer(b"".join(evals), dtype=np.uint8)
        self.files = files
        self.info = CorpusInfo(
            name="pystdlib",
            content_hash="sha256:" + digest.hexdigest(),
            train_bytes=int(self.train.size),
            eval_bytes=int(self.eval.size),
            entropy_rate=None,
            description=f"{len(files)} .py files of the Python standard library at {root}",
        )

    def train_windows(self, rng, n, ctx):
        starts = rng.integers(0, self.train.size - ctx - 1, size=n)
        return self.train[starts[:, None] + np.arange(ctx + 1)]

    def eval_windows(self, n, ctx):
        # Evenly spaced, fixed windows over the held-out files.
        starts = np.linspace(0, self.eval.size - ctx - 2, n).astype(np.int64)
        return self.eval[starts[:, None] + np.arange(ctx + 1)]


def zipf_law(vocab: int, exponent: float) -> np.ndarray:
    p = np.arange(1, vocab + 1, dtype=np.float64) ** -exponent
    return p / p.sum()


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


class ZipfMarkov(Corpus):
    """Order-1 Markov chain whose rows are permutations of one Zipf law (exact entropy rate)."""

    EVAL_SEED_OFFSET = 1_000_003

    def __init__(self, vocab: int = 256, exponent: float = 1.2, seed: int = 0, name: str = "zipf"):
        self.vocab, self.exponent, self.seed = vocab, exponent, seed
        self.p = zipf_law(vocab, exponent)
        self.cdf = np.cumsum(self.p)
        self.cdf[-1] = 1.0
        rng = np.random.default_rng(seed)
        self.perm = np.stack([rng.permutation(vocab) for _ in range(vocab)])  # perm[s, r]: symbol of rank r after s
        self.P = np.zeros((vocab, vocab))
        self.P[np.arange(vocab)[:, None], self.perm] = self.p[None, :]
        self.stationary = _stationary(self.P)
        self.H = entropy(self.p)
        self.info = CorpusInfo(
            name=name,
            content_hash="sha256:"
            + hashlib.sha256(f"zipf-markov v1 vocab={vocab} s={exponent!r} seed={seed}".encode()).hexdigest(),
            train_bytes=0,
            eval_bytes=0,
            entropy_rate=self.H,
            description=f"order-1 Markov chain, rows are permutations of Zipf({exponent}) over {vocab} symbols",
        )

    def _generate(self, rng: np.random.Generator, n: int, ctx: int) -> np.ndarray:
        out = np.empty((n, ctx + 1), dtype=np.int64)
        out[:, 0] = np.searchsorted(np.cumsum(self.stationary), rng.random(n), side="right").clip(0, self.vocab - 1)
        ranks = np.searchsorted(self.cdf, rng.random((n, ctx)), side="right").clip(0, self.vocab - 1)
        for t in range(ctx):
            out[:, t + 1] = self.perm[out[:, t], ranks[:, t]]
        return out

    def train_windows(self, rng, n, ctx):
        return self._generate(rng, n, ctx)

    def eval_windows(self, n, ctx):
        return self._generate(np.random.default_rng(self.seed + self.EVAL_SEED_OFFSET), n, ctx)

    def oracle_loss(self, windows: np.ndarray) -> float:
        """Mean loss of the true chain on ``windows`` (targets are positions 1..ctx)."""
        prev, nxt = windows[:, :-1], windows[:, 1:]
        return float(-np.log(self.P[prev, nxt]).mean())


def _stationary(P: np.ndarray) -> np.ndarray:
    pi = np.full(P.shape[0], 1.0 / P.shape[0])
    for _ in range(10_000):
        new = pi @ P
        if np.abs(new - pi).max() < 1e-15:
            break
        pi = new
    return new / new.sum()


class TrapCorpus(Corpus):
    """A language with one frequent, misleading pattern (the ``inverse`` preset's language).

    Over an alphabet of ``symbols`` symbols, every context (the previous
    ``order`` symbols) has one *usual* successor, fixed by the seed, that
    follows it with probability ``usual_prob``; otherwise the successor is
    drawn uniformly from the other ``symbols - 1`` (an *exception*).
    Exceptions carry no information a model could learn, so the best possible
    loss on them is ``-ln((1 - usual_prob) / (symbols - 1))``, and a model that
    has *not* learned the pattern (it hedges) scores better on them than one
    that has: the slice where bigger models should do worse.  Every context
    has the same successor law, so the entropy rate is exact:
    ``H = h(usual_prob) + (1 - usual_prob) ln(symbols - 1)``.

    Evaluation subsets (``eval_mask``): ``"exceptions"`` and ``"regular"``
    (targets at positions with a full context of ``order`` symbols that are /
    are not the usual successor), ``"all"``.
    """

    def __init__(self, usual_prob: float = 0.9, order: int = 2, symbols: int = 64, seed: int = 0, name: str = "trap"):
        self.usual_prob, self.order, self.symbols, self.seed = usual_prob, order, symbols, seed
        rng = np.random.default_rng(seed)
        self.usual = rng.integers(0, symbols, size=(symbols,) * order)
        q = (1 - usual_prob) / (symbols - 1)
        self.H = entropy(np.array([usual_prob] + [q] * (symbols - 1)))
        self.best_exception_loss = -math.log(q)
        self.best_regular_loss = -math.log(usual_prob)
        self.info = CorpusInfo(
            name=name,
            content_hash="sha256:"
            + hashlib.sha256(
                f"trap v4 order={order} symbols={symbols} usual={usual_prob!r} seed={seed}".encode()
            ).hexdigest(),
            train_bytes=0,
            eval_bytes=0,
            entropy_rate=self.H,
            description=(
                f"order-{order} source over {symbols} symbols: each context's usual successor with "
                f"probability {usual_prob}, otherwise a uniform draw from the other {symbols - 1}"
            ),
        )

    def _usual_of(self, windows: np.ndarray, t: int) -> np.ndarray:
        """Usual successor of the context ending at position ``t - 1``."""
        key = tuple(windows[:, t - 1 - k] for k in range(self.order))
        return self.usual[key]

    def _generate(self, rng, n, ctx):
        out = np.empty((n, ctx + 1), dtype=np.int64)
        out[:, : self.order] = rng.integers(0, self.symbols, (n, self.order))
        u = rng.random((n, ctx + 1))
        other = rng.integers(0, self.symbols - 1, (n, ctx + 1))
        for t in range(self.order, ctx + 1):
            us = self._usual_of(out, t)
            alt = np.where(other[:, t] >= us, other[:, t] + 1, other[:, t])  # uniform over the rest
            out[:, t] = np.where(u[:, t] < self.usual_prob, us, alt)
        return out

    def train_windows(self, rng, n, ctx):
        return self._generate(rng, n, ctx)

    def eval_windows(self, n, ctx):
        return self._generate(np.random.default_rng(self.seed + ZipfMarkov.EVAL_SEED_OFFSET), n, ctx)

    def oracle_loss(self, windows: np.ndarray) -> float:
        """Mean loss of the true source on the targets that have a full context."""
        usual = self.eval_mask(windows, "regular")
        full = usual | self.eval_mask(windows, "exceptions")
        q = (1 - self.usual_prob) / (self.symbols - 1)
        return float(-(np.where(usual, math.log(self.usual_prob), math.log(q)))[full].mean())

    def eval_mask(self, windows: np.ndarray, split: str) -> np.ndarray:
        """Boolean mask over target positions (shape ``(n, ctx)``) selecting ``split``."""
        n, width = windows.shape
        usual = np.zeros((n, width - 1), dtype=bool)
        for t in range(self.order, width):
            usual[:, t - 1] = self._usual_of(windows, t) == windows[:, t]
        full = np.zeros_like(usual)
        full[:, self.order - 1 :] = True
        if split == "exceptions":
            return full & ~usual
        if split == "regular":
            return full & usual
        if split == "all":
            return np.ones_like(usual)
        raise ValueError(f"unknown eval split {split!r}")


class TranslateCorpus(Corpus):
    """A synthetic translation task with an exactly known best loss (the ``nmt`` preset's language pair).

    Every example is a source sentence and its translation, packed into one
    window ``[x_1 .. x_S | BOS | y_1 .. y_T]`` (``S = T = length``), so the
    existing window interface serves an encoder-decoder: the encoder reads
    the ``S`` source words, the decoder is teacher-forced on ``BOS y_1 ..
    y_{T-1}`` and scored on ``y_1 .. y_T`` (``ctx`` is the target length).
    A target word is a lemma and a form: ``y = lemma * forms + form``.

    * **Source language**: sentences from an order-1 Zipf-Markov chain
      (:class:`ZipfMarkov`, ``src_vocab`` words, exponent ``src_exponent``),
      started in its stationary distribution.
    * **Understanding the source** (idioms): every source word has a literal
      and an idiomatic translation (two lemmas, drawn from a Zipf law over
      ``lemmas``, as real vocabularies are).  Which one applies depends on the
      *word pair* it ends: a fixed random ``idioms`` share of the
      ``(src_vocab + 1) x src_vocab`` pairs (previous word or sentence start,
      word) are idioms.  So the model must combine two source positions and
      memorise one bit per word pair; pair frequencies follow the chain's
      Zipf rows, a long tail, so each extra unit of capacity buys a little
      more of the tail.
    * **Local reordering**: the target visits the source positions block by
      block, each block of ``block`` positions reversed (1 2 3 4 5 6 -> 3 2 1
      6 5 4), so alignment is not the identity.
    * **Generating fluently** (agreement): a word takes the form of the
      previous *emitted* target word (form 0 after BOS), shifted by one
      (mod ``forms``) when the pair (previous lemma, lemma) is an exception
      (a fixed random ``exceptions`` share of the pairs).  Only the decoder
      sees the emitted prefix, so this memorisation, one bit per lemma pair
      with Zipf-distributed frequencies, is the decoder's alone.
    * **Noise**: with probability ``noise`` a target word is replaced by a
      uniform draw over the ``V = lemmas * forms`` target words (a noisy
      reference); the next word agrees with what was actually emitted.

    Given the source and the emitted prefix, the clean word ``y*_t`` is
    determined, and ``y_t = y*_t`` with probability ``1 - e + e / V``, any
    other word with ``e / V`` (``e = noise``).  So the best possible loss is
    the same at every target position and known exactly:
    ``H = -(1 - e + e/V) ln(1 - e + e/V) - (V - 1) (e/V) ln(e/V)``, the
    irreducible loss ``L_inf`` of the encoder-decoder law.
    """

    def __init__(
        self,
        length: int = 6,
        src_vocab: int = 64,
        src_exponent: float = 1.2,
        lemmas: int = 64,
        lemma_exponent: float = 1.0,
        forms: int = 4,
        block: int = 3,
        idioms: float = 0.25,
        exceptions: float = 0.25,
        noise: float = 0.1,
        seed: int = 0,
        name: str = "translate",
    ):
        self.length, self.src_vocab, self.lemmas, self.forms = length, src_vocab, lemmas, forms
        self.block, self.noise, self.seed = block, noise, seed
        self.spec = dict(
            length=length,
            src_vocab=src_vocab,
            src_exponent=src_exponent,
            lemmas=lemmas,
            lemma_exponent=lemma_exponent,
            forms=forms,
            block=block,
            idioms=idioms,
            exceptions=exceptions,
            noise=noise,
            seed=seed,
        )
        self.source = ZipfMarkov(vocab=src_vocab, exponent=src_exponent, seed=seed, name=f"{name}-source")
        rng = np.random.default_rng([seed, 11])
        lemma_law = zipf_law(lemmas, lemma_exponent)
        self.literal = rng.choice(lemmas, size=src_vocab, p=lemma_law)
        shift = rng.integers(1, lemmas, size=src_vocab)  # the idiomatic lemma always differs from the literal one
        self.idiomatic = (self.literal + shift) % lemmas
        # idiom[previous word or start (row src_vocab), word]; exception[previous lemma or BOS (row lemmas), lemma]
        self.idiom = rng.random((src_vocab + 1, src_vocab)) < idioms
        self.exception = rng.random((lemmas + 1, lemmas)) < exceptions
        self.tgt_vocab = lemmas * forms
        self.bos = self.tgt_vocab
        self.order = reorder(length, block)
        v, e = self.tgt_vocab, noise
        top = 1 - e + e / v
        self.H = float(-top * math.log(top) - (v - 1) * (e / v) * math.log(e / v)) if e > 0 else 0.0
        blob = "translate v1 " + " ".join(f"{k}={v!r}" for k, v in sorted(self.spec.items()))
        self.info = CorpusInfo(
            name=name,
            content_hash="sha256:" + hashlib.sha256(blob.encode()).hexdigest(),
            train_bytes=0,
            eval_bytes=0,
            entropy_rate=self.H,
            description=(
                f"synthetic translation: Zipf-Markov source sentences ({src_vocab} words, length {length}), "
                f"literal/idiomatic lemmas by word pair ({idioms:.0%} idioms), blocks of {block} reversed, "
                f"{forms} forms agreeing with the previous target word ({exceptions:.0%} exceptions), "
                f"{noise:.0%} target noise"
            ),
        )

    def _check_ctx(self, ctx: int) -> None:
        if ctx != self.length:
            raise ValueError(f"the {self.info.name} corpus has target length {self.length}, not ctx {ctx}")

    def lemmas_of(self, src: np.ndarray) -> np.ndarray:
        """Lemma at every target position (target order) of source sentences ``src`` (n, length)."""
        left = np.full_like(src, self.src_vocab)
        left[:, 1:] = src[:, :-1]
        lemma = np.where(self.idiom[left, src], self.idiomatic[src], self.literal[src])
        return lemma[:, self.order]

    def _clean(self, lemma: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """The clean word for ``lemma`` after the emitted word ``prev`` (BOS allowed)."""
        bos = prev == self.bos
        prev_lemma = np.where(bos, self.lemmas, prev // self.forms)
        prev_form = np.where(bos, 0, prev % self.forms)
        return lemma * self.forms + (prev_form + self.exception[prev_lemma, lemma]) % self.forms

    def _generate(self, rng: np.random.Generator, n: int) -> np.ndarray:
        s = self.length
        src = self.source._generate(rng, n, s - 1)  # (n, s)
        lemma = self.lemmas_of(src)
        noisy = rng.random((n, s)) < self.noise
        junk = rng.integers(0, self.tgt_vocab, size=(n, s))
        tgt = np.empty((n, s), dtype=np.int64)
        prev = np.full(n, self.bos)
        for t in range(s):
            tgt[:, t] = np.where(noisy[:, t], junk[:, t], self._clean(lemma[:, t], prev))
            prev = tgt[:, t]
        return np.concatenate([src, np.full((n, 1), self.bos), tgt], axis=1)

    def train_windows(self, rng, n, ctx):
        self._check_ctx(ctx)
        return self._generate(rng, n)

    def eval_windows(self, n, ctx):
        self._check_ctx(ctx)
        return self._generate(np.random.default_rng(self.seed + ZipfMarkov.EVAL_SEED_OFFSET), n)

    def clean_targets(self, windows: np.ndarray) -> np.ndarray:
        """The noise-free word ``y*_t`` at every target position, given the source and the emitted prefix."""
        s = self.length
        src, tgt = windows[:, :s], windows[:, s + 1 :]
        prev = np.concatenate([np.full((len(src), 1), self.bos), tgt[:, :-1]], axis=1)
        return self._clean(self.lemmas_of(src), prev)

    def oracle_loss(self, windows: np.ndarray) -> float:
        """Mean loss of the true conditional law on the target words of ``windows``."""
        v, e = self.tgt_vocab, self.noise
        hit = self.clean_targets(windows) == windows[:, self.length + 1 :]
        return float(-np.where(hit, np.log(1 - e + e / v), np.log(e / v)).mean())


def reorder(length: int, block: int) -> np.ndarray:
    """Source position of every target position: consecutive blocks of ``block`` positions, each reversed."""
    order = np.arange(length)
    for start in range(0, length, block):
        order[start : start + block] = order[start : start + block][::-1]
    return order


@functools.lru_cache(maxsize=4)
def get_corpus(name: str) -> Corpus:
    """The named corpus, built once per process (``pystdlib``, ``zipf``, ``trap``, ``translate``)."""
    if name == "pystdlib":
        return StdlibCorpus()
    if name == "zipf":
        return ZipfMarkov()
    if name == "trap":
        return TrapCorpus()
    if name == "translate":
        return TranslateCorpus()
    raise ValueError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}")


CORPORA = ("pystdlib", "zipf", "trap", "translate")
ENCDEC_CORPORA = ("translate",)  # corpora of (source, target) pairs, for the encoder-decoder
