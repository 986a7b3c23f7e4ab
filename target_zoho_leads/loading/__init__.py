"""One run's loading: the loader, the writes, the output files, counters and progress."""
