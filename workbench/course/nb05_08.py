"""Course figures and explorers (placeholder until the notebooks land)."""
