"""Loopback servers the tests (and benchmarks) start: real protocols, recorded data."""
