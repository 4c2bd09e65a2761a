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
    kind: str = "chat"  # "chat": /chat in a channel of its own; "conversation": a message mentioning the bot there
    spread: float = 0.0  # seconds over which the questions arrive, evenly (0: all at once)
    lean: bool = False  # served by the lean load generators (`bench.harness.sse_server`) rather than the emulator

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
    "short-30": Scenario("short30", "30 short answers at once (80 chunks, 20 ms apart)", 30, 450, 0.02),
    "channels-30": Scenario("ch30", "30 channel conversations at once", 30, 900, 0.011, "conversation"),
    "channel-long": Scenario("chlong", "1 channel answer, 6,000 characters", 1, 6000, 0.011, "conversation"),
    "1000": Scenario("s1000", "1,000 concurrent streams (asked over 5 s)", 1000, 1800, 0.05, spread=5.0, lean=True),
}
PROFILED = Scenario("prof", "300 concurrent streams, under cProfile", 300, 1800, 0.03)
