"""The scripted demo behind `make demo`."""
