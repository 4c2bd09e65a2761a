"""The streaming benchmarks' scenarios: how many answers at once, how long each, how fast the emulator sends it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    streams: int
    length: int
    delay: float

    def prompt(self, index: int) -> str:
        return f"{self.tag(index)} [emu:length={self.length}][emu:delay={self.delay}]"

    def tag(self, index: int) -> str:
        return f"bench {self.key} answer {index}"


WARM_UP = Scenario("warm", "warm-up", 2, 300, 0.005)
SCENARIOS = {
    "1": Scenario("s1", "1 stream", 1, 1800, 0.03),
    "1-long": Scenario("s1long", "1 stream, 5,000 characters (follow-ups)", 1, 5000, 0.02),
    "30": Scenario("s30", "30 concurrent streams", 30, 1800, 0.03),
    "300": Scenario("s300", "300 concurrent streams", 300, 1800, 0.03),
}
PROFILED = Scenario("prof", "300 concurrent streams, under cProfile", 300, 1800, 0.03)
