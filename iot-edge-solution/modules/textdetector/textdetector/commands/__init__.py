"""The command-line commands: run (default), detect, serve."""
