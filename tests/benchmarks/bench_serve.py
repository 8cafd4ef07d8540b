"""`unet serve` against the same engine called in-process.

    python tests/benchmarks/bench_serve.py [--rounds 5] [--engines tensorflow,onnxruntime]

The model is the reference topology (filters 32-256) at 256x256, trained 2 steps on a synthetic
DAGM-layout dataset (speed does not depend on what it learned) and exported to ONNX. For the
checkpoint (TensorFlow) and onnxruntime float32 it starts two `unet serve` processes, batching
on (--max_batch 8) and off (--max_batch 1), and calls them with tritonclient, binary data, from
1, 4 and 16 concurrent clients (threads, one client each, one 256x256 image a request). The
rounds alternate: in-process figures, then every server and client count, then again; the
target ratios are taken within each round (the machine's speed drifts between rounds) and
their medians printed beside every round's.

Printed per row: images/s, and request latency p50, p90 and p99 in ms. In-process rows: the
bare engine at batch 8 and at batch 1 (what batching can gain at most), `Inspector.inspect` of
one image, and `inspect_many` of 8 (the server's work without HTTP: model and decision, whose
labelling costs more the busier the mask). Targets (issue 21):
16 clients with batching >= 0.85x the engine at batch 8 and above --max_batch 1; 1 client p50
<= inspect p50 + 5 ms. It prints the CPU and its flags first; nothing here asserts a figure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from tests.benchmarks.bench_inspector import REFERENCE, trained  # noqa: E402
from unet_defects.adapters.hardware import cpu_flags, cpu_model  # noqa: E402
from unet_defects.application.info import describe_cpu_flags  # noqa: E402

CLIENTS = (1, 4, 16)
REQUESTS = {1: 24, 4: 48, 16: 128}  # requests a round, all clients together
SIDE = 256


def start_server(arguments: list[str], max_batch: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "unet_defects.cli", "serve", *arguments, "--port", "0",
                                "--max_batch", str(max_batch)], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = process.stdout.readline()
    if not line.startswith("unet serve: http://"):
        process.kill()
        raise SystemExit(f"unet serve did not start: {line}")
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep its pipe drained
    return process, line.split("http://")[1].split(" ")[0]


def burst(address: str, clients: int, images: list[np.ndarray]) -> tuple[float, list[float]]:
    """(images/s, latencies in s) of REQUESTS[clients] requests from `clients` threads."""
    import tritonclient.http as httpclient

    share = REQUESTS[clients] // clients
    latencies: list[float] = []
    connections = [httpclient.InferenceServerClient(address) for _ in range(clients)]

    def run(number: int) -> None:
        client = connections[number]
        for index in range(share):
            batch = images[(number * share + index) % len(images)][None, ..., None]
            tensor = httpclient.InferInput("image", list(batch.shape), "UINT8")
            tensor.set_data_from_numpy(batch)
            tick = time.perf_counter()
            result = client.infer("unet", [tensor])
            result.as_numpy("mask")
            latencies.append(time.perf_counter() - tick)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(clients)]
    tick = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - tick
    for client in connections:
        client.close()
    return share * clients / seconds, latencies


def timed(call, count: int) -> list[float]:
    latencies = []
    for index in range(count):
        tick = time.perf_counter()
        call(index)
        latencies.append(time.perf_counter() - tick)
    return latencies


def in_process(inspector, images: list[np.ndarray]) -> dict[str, list[float]]:
    """Latencies in s of the bare engine at batch 8 (a call), at batch 1, and of inspect."""
    session = inspector.session
    batch8 = np.stack([session.model_input(image) for image in images[:8]])
    return {
        "engine@8": timed(lambda index: session.engine.outputs(batch8)[0], 8),
        "engine@1": timed(lambda index: session.engine.outputs(session.model_input(images[index])[None])[0], 16),
        "inspect": timed(lambda index: inspector.inspect(images[index]), 24),
        "inspect_many@8": timed(lambda index: inspector.inspect_many(images[8 * index:8 * index + 8]), 4),
    }


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    return tuple(float(v) * 1000 for v in np.percentile(samples, [50, 90, 99]))  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engines", default="tensorflow,onnxruntime")
    args = parser.parse_args()
    print(f"CPU: {os.cpu_count()} cores, {cpu_model()}; {describe_cpu_flags(cpu_flags())}", flush=True)
    from unet_defects.api import Inspector
    from unet_defects.container import build_container

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (SIDE, SIDE), dtype=np.uint8) for _ in range(32)]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        work = Path(folder)
        model_dir = trained(work, REFERENCE, SIDE, "reference")
        export = work / "onnx"
        build_container(str(model_dir / "params.yaml"), {"model_dir": str(model_dir)}).export().execute(
            str(export), format="onnx")
        sources = {"tensorflow": ["--model_dir", str(model_dir)],
                   "onnxruntime": ["--model", str(export), "--engine", "onnxruntime"]}
        engines = args.engines.split(",")
        inspectors = {engine: Inspector.open(model_dir=str(model_dir)) if engine == "tensorflow" else
                      Inspector.open(export=str(export), engine=engine) for engine in engines}
        servers = {(engine, batch): start_server(sources[engine], batch) for engine in engines for batch in (8, 1)}
        try:
            figures: dict = {}
            for round_ in range(args.rounds + 1):  # round 0 warms every path up and is not counted
                for engine in engines:
                    own = in_process(inspectors[engine], images)
                    engine8 = 8 * len(own["engine@8"]) / sum(own["engine@8"])
                    many8 = 8 * len(own["inspect_many@8"]) / sum(own["inspect_many@8"])
                    inspect = own["inspect"]
                    if round_:
                        for path, latencies in own.items():
                            figures.setdefault((engine, path), ([], []))[1].extend(latencies)
                            batch = 8 if path.endswith("@8") else 1
                            figures[engine, path][0].append(batch * len(latencies) / sum(latencies))
                    rates = {}
                    for batch in (8, 1):
                        for clients in CLIENTS:
                            rate, latencies = burst(servers[engine, batch][1], clients, images)
                            rates[batch, clients] = rate
                            if round_:
                                key = (engine, f"serve --max_batch {batch}", clients)
                                figures.setdefault(key, ([], []))[0].append(rate)
                                figures[key][1].extend(latencies)
                            if round_ and (batch, clients) == (8, 1):  # its own round's inspect beside it
                                figures.setdefault((engine, "p50 gap"), []).append(
                                    float(np.median(latencies) - np.median(inspect)) * 1000)
                    if round_:  # ratios within a round: the machine's speed drifts between rounds
                        figures.setdefault((engine, "vs engine"), []).append(rates[8, 16] / engine8)
                        figures.setdefault((engine, "vs inspect_many"), []).append(rates[8, 16] / many8)
                        figures.setdefault((engine, "vs off"), []).append(rates[8, 16] / rates[1, 16])
                print(f"round {round_} done", flush=True)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(60)
        report(engines, figures)


def report(engines: list[str], figures: dict) -> None:
    print(f"\n{'engine':<13}{'path':<22}{'clients':>8}{'images/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
          f"{'vs engine@8':>13}")
    for engine in engines:
        engine8 = float(np.median(figures[engine, "engine@8"][0]))
        for path in ("engine@8", "engine@1", "inspect", "inspect_many@8"):  # a call's latency (@8: of 8 images)
            rates, latencies = figures[engine, path]
            rate = float(np.median(rates))
            p50, p90, p99 = percentiles(latencies)
            print(f"{engine:<13}{'in-process ' + path:<22}{'':>8}{rate:>10.1f}{p50:>9.1f}{p90:>9.1f}{p99:>9.1f}"
                  f"{rate / engine8:>13.2f}")
        for path in ("serve --max_batch 8", "serve --max_batch 1"):
            for clients in CLIENTS:
                rates, latencies = figures[engine, path, clients]
                rate = float(np.median(rates))
                p50, p90, p99 = percentiles(latencies)
                print(f"{engine:<13}{path:<22}{clients:>8}{rate:>10.1f}{p50:>9.1f}{p90:>9.1f}{p99:>9.1f}"
                      f"{rate / engine8:>13.2f}")
        ratios = {key: np.round(figures[engine, key], 2).tolist()
                  for key in ("vs engine", "vs inspect_many", "vs off", "p50 gap")}
        print(f"{engine}: 16 clients with batching {np.median(ratios['vs engine']):.2f}x the engine at batch 8 "
              f"(target >= 0.85; rounds {ratios['vs engine']}), {np.median(ratios['vs inspect_many']):.2f}x "
              f"inspect_many of 8 (the same work in-process; rounds {ratios['vs inspect_many']}), "
              f"{np.median(ratios['vs off']):.2f}x --max_batch 1 "
              f"(target > 1; rounds {ratios['vs off']}); 1 client p50 - inspect p50 "
              f"{np.median(ratios['p50 gap']):+.1f} ms (target <= 5; rounds {ratios['p50 gap']})")


if __name__ == "__main__":
    main()
