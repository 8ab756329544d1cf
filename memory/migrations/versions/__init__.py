"""Migration scripts, applied in order by ``moss-agent db upgrade``."""
