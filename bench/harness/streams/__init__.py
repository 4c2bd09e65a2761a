"""The streaming benchmarks (`bench/stream.py`, `bench/metrics_cost.py`): scenarios, what the fake showed of each
answer against what the emulator sent, the best fixed-pace editor as reference, one scenario's measurement, the
report."""
