"""Recording: the recorder (perception -> memory, resumable) and the sinks it feeds."""
