"""What the benchmarks share, so that each benchmark is a short script of its scenarios and figures.

- `children`: child processes that announce themselves with one JSON line and stop when told;
- `servers`: the fake Discord and the fusion emulator as such child processes, with their control routes;
- `botrun`: the benchmarked bot in this process, its settings, its REST calls traced;
- `lag`: event-loop lag (a 10 ms sleeper) and full garbage collections;
- `cpu`: CPU net of idle, other processes' CPU, memory, and the machine's reference speed;
- `tables`: markdown tables of figures against targets, medians over runs;
- `logs`: the warnings a run logged, counted for its notes;
- `streams/`: the streaming benchmarks' scenarios, answers, reference editor, measurement and report;
- `draws/`: the picture-queue benchmark's records, world, processes and report;
- `stores/`: the store benchmark's data and report.
"""
