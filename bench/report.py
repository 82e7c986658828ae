#!/usr/bin/python3
"""bench/report.py DIR - the report of a bench/run suite run.

Reads what bench/run left in DIR (machine.json, conn-<C>.json, maxbatch1.json,
redis.json, open-<scenario>-<percent>.json, burst.json, size-<small|large>.json:
secpol-bench's JSON reports and bench/run's own), and writes into DIR:

  summary.json    every figure below, with the targets of issue 13
  report.md       the tables (markdown), the targets met or not, the machine
  throughput.dat, latency.dat, plots.gp   gnuplot's input
  throughput.png, latency.png             when gnuplot is installed

Exit status 0, or 1 when a report it needs is missing or does not parse.
Standard library only.
"""
import json
import os
import shutil
import subprocess
import sys

SWEEP = ["get_policy", "check_lockout", "validate_session", "record_failure",
         "issue_consume_token", "login_flow"]
OPEN_LOOP = ["get_policy", "check_lockout", "validate_session"]
SIZE = ["check_lockout", "record_failure", "issue_consume_token"]


def load(directory, name):
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def scenario(report, name):
    for s in (report or {}).get("scenarios", []):
        if s["name"] == name:
            return s
    return None


def method_rate(s, method):
    """calls/s of one method inside a flow (its calls in the window / seconds)."""
    for m in s.get("methods", []):
        if m["method"].endswith("/" + method):
            return m["calls"] / s["seconds"]
    return None


def fmt(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def ratio(a, b):
    return a / b if a and b else None


def daemon_p99(daemon):
    """The upper bound of the bucket the daemon-side p99 falls in."""
    if not daemon or not daemon.get("replies"):
        return "-"
    bound = daemon.get("p99_at_most_us")
    return fmt(bound) if bound is not None else "> 10 s"


def daemon_share(daemon):
    """The share of calls the daemon answered within 1 ms, as a percentage."""
    if not daemon or daemon.get("share_within_1ms") is None:
        return "-"
    return f"{daemon['share_within_1ms'] * 100:.2f} %"


def main():
    if len(sys.argv) != 2:
        print("usage: bench/report.py DIR", file=sys.stderr)
        return 2
    d = sys.argv[1]
    machine = load(d, "machine.json") or {}
    conns = sorted(int(f[5:-5]) for f in os.listdir(d)
                   if f.startswith("conn-") and f.endswith(".json"))
    if not conns:
        print(f"bench/report.py: no conn-*.json in {d}", file=sys.stderr)
        return 1
    sweep = {c: load(d, f"conn-{c}.json") for c in conns}
    redis = load(d, "redis.json")
    single = load(d, "maxbatch1.json")
    top = max(conns)
    summary = {"machine": machine, "connections": conns, "throughput": {}, "redis_incr": {},
               "targets": []}
    md = []
    md.append("# secpol benchmark report\n")
    md.append(f"- **commit** {machine.get('commit', '?')}, {machine.get('date', '?')}, "
              f"build {machine.get('build_type', '?')}")
    md.append(f"- **machine** {machine.get('cpus', '?')} CPUs ({machine.get('cpu_model', '?')}), "
              f"Linux {machine.get('kernel', '?')}; load average {machine.get('load_before', '?')} "
              f"before, {machine.get('load_after', '?')} after (other work on the machine: "
              f"{machine.get('busy', '?')})")
    md.append(f"- **disk** data on {machine.get('data_fs', '?')}; one 4 KiB O_DSYNC write took "
              f"{machine.get('sync_write_ms_before', '?')} ms before, "
              f"{machine.get('sync_write_ms_after', '?')} ms after")
    md.append(f"- **durations** {machine.get('seconds', '?')} s measured per scenario after "
              f"{machine.get('warmup', '?')} s of warm-up ({machine.get('scale', '')})")
    md.append(f"- **command** `{machine.get('command', 'bench/run')}`\n")

    # --- throughput by connections --------------------------------------------
    md.append("## Throughput by connections\n")
    md.append("Closed loop, one call in flight per connection (`--clients C --depth 1`), "
              "calls/s; Redis: `redis-benchmark -c C -P 1 -t incr` on a Redis with "
              "`appendonly yes`, `appendfsync always` on the same disk.\n")
    md.append("| scenario | " + " | ".join(f"{c} conn." for c in conns) + " |")
    md.append("|---|" + "---:|" * len(conns))
    rows = ["health"] + SWEEP
    for name in rows:
        values = []
        for c in conns:
            s = scenario(sweep[c], name)
            values.append(s["calls_per_sec"] if s else None)
        summary["throughput"][name] = dict(zip(map(str, conns), values))
        md.append(f"| {name} | " + " | ".join(fmt(v) for v in values) + " |")
    if redis:
        values = [redis.get(str(c), {}).get("rps") for c in conns]
        summary["redis_incr"] = {str(c): redis.get(str(c)) for c in conns}
        md.append("| Redis INCR (appendfsync always) | " + " | ".join(fmt(v) for v in values) + " |")
    md.append("")

    # --- durable writes against Redis and --max-batch 1 ------------------------
    md.append(f"## Durable writes at {top} connections\n")
    redis_top = redis.get(str(top), {}).get("rps") if redis else None
    # RecordFailure alone (writer.json), measured between Redis and --max-batch 1: the
    # ratios compare runs minutes apart at most (the disk's speed drifts); else the sweep's
    writer = load(d, "writer.json")
    rf = scenario(writer, "record_failure") or scenario(sweep[top], "record_failure")
    rf1 = scenario(single, "record_failure") if single else None
    ic = scenario(sweep[top], "issue_consume_token")
    vs = scenario(sweep[top], "validate_session")
    consume = method_rate(ic, "ConsumeToken") if ic else None
    writes = [
        ("RecordFailure", rf["calls_per_sec"] if rf else None, 1.5, 15.0),
        ("ConsumeToken (in issue_consume_token)", consume, None, None),
        ("ValidateSession with touch", vs["calls_per_sec"] if vs else None, None, None),
    ]
    md.append("RecordFailure alone (`writer.json`), run right after Redis and right before the "
              "`--max-batch 1` daemon; ConsumeToken and ValidateSession from the sweep above.\n")
    md.append("| call | calls/s | x Redis INCR | x `--max-batch 1` |")
    md.append("|---|---:|---:|---:|")
    for name, value, _, _ in writes:
        x_single = ratio(value, rf1["calls_per_sec"]) if (rf1 and name == "RecordFailure") else None
        md.append(f"| {name} | {fmt(value)} | {fmt(ratio(value, redis_top), 2)} | "
                  f"{fmt(x_single, 1)} |")
    if rf1:
        md.append(f"| RecordFailure, `--max-batch 1` | {fmt(rf1['calls_per_sec'])} | "
                  f"{fmt(ratio(rf1['calls_per_sec'], redis_top), 2)} | 1.0 |")
    md.append("")
    health = scenario(sweep[top], "health")
    if health and redis_top:
        # No call is faster than Health/Check (front end, READ lane, reply; no store): the
        # ceiling of the request path, against which a durable write's figure is read.
        ceiling = ratio(health["calls_per_sec"], redis_top)
        share = ratio(rf and rf["calls_per_sec"], health["calls_per_sec"])
        md.append(f"The ceiling: Health/Check, which touches no store, served "
                  f"{fmt(health['calls_per_sec'])} calls/s at {top} connections in the sweep, "
                  f"**{fmt(ceiling, 2)}x Redis INCR**. No call, durable or not, goes faster "
                  f"over this request path (libzmq, the front end, {top} client threads on "
                  f"{machine.get('cpus', '?')} CPUs)"
                  + (": the 1.5x target is out of reach of any call on this machine in this "
                     "run, whatever the store does. " if ceiling is not None and ceiling < 1.5
                     else ". ")
                  + f"RecordFailure reached {fmt(share, 2)} of Health/Check.")
        summary["ceiling"] = {"health_calls_per_sec": health["calls_per_sec"],
                              "health_x_redis": ceiling, "record_failure_x_health": share}
        if rf1:
            # The same bound for the group-commit ratio: with a fast flush, one commit per
            # write is itself close to the request path's speed.
            single_ceiling = ratio(health["calls_per_sec"], rf1["calls_per_sec"])
            md.append(f"Against `--max-batch 1` the ceiling is {fmt(single_ceiling, 1)}x "
                      f"(Health/Check over one commit per write; one 4 KiB O_DSYNC write took "
                      f"{machine.get('sync_write_ms_before', '?')} to "
                      f"{machine.get('sync_write_ms_after', '?')} ms in this run: the faster "
                      f"the flush, the closer one commit per write comes to the request path)"
                      + (": 15x is out of reach of any call in this run."
                         if single_ceiling is not None and single_ceiling < 15 else "."))
            summary["ceiling"]["health_x_max_batch_1"] = single_ceiling
        md.append("")
    cpu = (writer or {}).get("writer_cpu")
    if cpu and cpu.get("us_per_write"):
        md.append(f"Writer CPU: the WRITE lane thread spent {cpu['seconds']:.2f} s of CPU on "
                  f"{cpu['writes']:,} RecordFailure writes at {top} connections: "
                  f"**{cpu['us_per_write']:.1f} us per write** (handler, nested transaction, "
                  f"commit's system calls; /proc/<pid>/task/<tid>/stat).\n")
        summary["writer_cpu_us_per_write"] = cpu["us_per_write"]
    summary["writes"] = {
        "record_failure": rf and rf["calls_per_sec"],
        "record_failure_max_batch_1": rf1 and rf1["calls_per_sec"],
        "consume_token": consume,
        "validate_session_touch": vs and vs["calls_per_sec"],
        "redis_incr": redis_top,
    }
    target = ratio(rf and rf["calls_per_sec"], redis_top)
    summary["targets"].append({"target": f"RecordFailure at {top} connections >= 1.5x Redis INCR",
                               "value": target, "met": bool(target and target >= 1.5)})
    target = ratio(rf and rf["calls_per_sec"], rf1 and rf1["calls_per_sec"])
    summary["targets"].append({"target": f"RecordFailure at {top} connections >= 15x --max-batch 1",
                               "value": target, "met": bool(target and target >= 15)})

    # --- open loop -------------------------------------------------------------
    md.append("## Latency under open-loop load\n")
    md.append("Calls at fixed times (`--rate R`, 4 clients, at most 64 in flight each), latency "
              "from the time each call was due (no coordinated omission); R is a share of the "
              "scenario's highest calls/s above. *echo p99*: the same load against secpol-echo "
              "(bench/echo.c, one thread answering at once): the machine and libzmq alone. "
              "*in secpold*: the same calls' time inside the daemon (request read to reply handed "
              "to libzmq), from its /metrics histogram: the bucket its p99 falls in, and the "
              "share of calls done within 1 ms; what is left of the p99 is the sockets, "
              "libzmq's I/O threads, the client and the scheduler.\n")
    md.append("| scenario | offered/s | served/s | p50 us | p90 us | p99 us | p99.9 us | max us "
              "| echo p99 us | in secpold: p99 <= us | within 1 ms |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    summary["open_loop"] = {}
    latency_rows = []
    for name in OPEN_LOOP:
        runs = []
        for f in sorted(os.listdir(d)):
            if f.startswith(f"open-{name}-") and f.endswith(".json"):
                report = load(d, f)
                s = scenario(report, name)
                echo = scenario(report.get("echo"), name)
                if s:
                    runs.append((int(f[len(f"open-{name}-"):-5]), s, echo,
                                 report.get("daemon_latency")))
        runs.sort(key=lambda r: r[0])
        summary["open_loop"][name] = []
        for percent, s, echo, daemon in runs:
            lat = s["latency_us"]
            echo_p99 = echo["latency_us"]["p99"] if echo else None
            md.append(f"| {name} ({percent}% of max) | {fmt(s['offered_rate'])} | "
                      f"{fmt(s['calls_per_sec'])} | {fmt(lat['p50'], 1)} | {fmt(lat['p90'], 1)} | "
                      f"{fmt(lat['p99'], 1)} | {fmt(lat['p999'], 1)} | {fmt(lat['max'], 1)} | "
                      f"{fmt(echo_p99, 1)} | {daemon_p99(daemon)} | {daemon_share(daemon)} |")
            summary["open_loop"][name].append({"percent": percent, "offered": s["offered_rate"],
                                               "served": s["calls_per_sec"], "latency_us": lat,
                                               "echo_p99_us": echo_p99,
                                               "daemon_latency": daemon})
            latency_rows.append((name, s["offered_rate"], lat, echo_p99))
            if percent == 50:
                summary["targets"].append({
                    "target": f"{name} p99 <= 1 ms at half its highest calls/s",
                    "value": lat["p99"], "met": lat["p99"] <= 1000,
                    "daemon_p99_at_most_us": (daemon or {}).get("p99_at_most_us")})
    md.append("")

    burst = load(d, "burst.json")
    b = scenario(burst, "get_policy") if burst else None
    if b:
        md.append("## GetPolicy during a burst of CheckPassword (argon2id, SLOW lane)\n")
        a = b.get("alongside", {})
        md.append(f"GetPolicy open loop at {fmt(b['offered_rate'])}/s while "
                  f"{burst.get('alongside_clients', 2)} clients keep CheckPassword with a history "
                  f"of 3 argon2id hashes going (closed loop, 2 in flight each): GetPolicy p50 "
                  f"{fmt(b['latency_us']['p50'], 1)} us, p99 {fmt(b['latency_us']['p99'], 1)} us, "
                  f"max {fmt(b['latency_us']['max'], 1)} us; CheckPassword "
                  f"{fmt(a.get('calls_per_sec'), 1)} calls/s, p99 "
                  f"{fmt(a.get('latency_us', {}).get('p99'), 0)} us. Inside secpold, GetPolicy's "
                  f"p99 was at most {daemon_p99(burst.get('daemon_latency'))} us, "
                  f"{daemon_share(burst.get('daemon_latency'))} within 1 ms.\n")
        summary["burst"] = dict(b, daemon_latency=burst.get("daemon_latency"))
        summary["targets"].append({"target": "GetPolicy p99 < 2 ms during a CheckPassword burst",
                                   "value": b["latency_us"]["p99"],
                                   "met": b["latency_us"]["p99"] < 2000})

    small, large = load(d, "size-small.json"), load(d, "size-large.json")
    if small and large:
        md.append("## Flat with size\n")
        md.append(f"The same scenarios on a fresh store holding {small.get('subjects')} subjects "
                  f"with lockout counters and {small.get('tokens')} live tokens, then on one "
                  f"holding {large.get('subjects')} and {large.get('tokens')} "
                  f"(prepared through secpold, pipelined), {small.get('clients')} clients x depth "
                  f"{small.get('depth')}.\n")
        md.append("| scenario | small store calls/s | large store calls/s | large / small |")
        md.append("|---|---:|---:|---:|")
        summary["size"] = {}
        for name in SIZE:
            s1, s2 = scenario(small, name), scenario(large, name)
            if not (s1 and s2):
                continue
            r = ratio(s2["calls_per_sec"], s1["calls_per_sec"])
            summary["size"][name] = {"small": s1["calls_per_sec"], "large": s2["calls_per_sec"],
                                     "ratio": r}
            md.append(f"| {name} | {fmt(s1['calls_per_sec'])} | {fmt(s2['calls_per_sec'])} | "
                      f"{fmt(r, 2)} |")
            summary["targets"].append({
                "target": f"{name} with {large.get('subjects')} subjects / {large.get('tokens')} "
                          f"tokens within 25% of {small.get('subjects')}",
                "value": r, "met": bool(r and r >= 0.75)})
        md.append("")

    lf = scenario(sweep[top], "login_flow")
    if lf and lf.get("methods"):
        md.append(f"## login_flow by method ({top} connections)\n")
        md.append("| method | calls | p50 us | p99 us | p99.9 us |")
        md.append("|---|---:|---:|---:|---:|")
        for m in lf["methods"]:
            lat = m["latency_us"]
            md.append(f"| {m['method'].split('/')[-2].split('.')[-1]}/{m['method'].split('/')[-1]} | "
                      f"{m['calls']} | {fmt(lat['p50'], 1)} | {fmt(lat['p99'], 1)} | "
                      f"{fmt(lat['p999'], 1)} |")
        md.append("")

    md.append("## Targets (issue 13)\n")
    md.append("| target | measured | met |")
    md.append("|---|---:|---|")
    for t in summary["targets"]:
        v = t["value"]
        shown = "-" if v is None else (f"{v:.2f}x" if "x " in t["target"] or "within" in t["target"]
                                       else f"{v:,.0f} us")
        md.append(f"| {t['target']} | {shown} | {'yes' if t['met'] else '**no**'} |")
    md.append("")
    md.append("![throughput](throughput.png)\n")
    md.append("![latency](latency.png)\n")

    with open(os.path.join(d, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(d, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)

    # --- plots -----------------------------------------------------------------------
    with open(os.path.join(d, "throughput.dat"), "w") as f:
        names = rows + (["redis_incr"] if redis else [])
        f.write("# connections " + " ".join(names) + "\n")
        for c in conns:
            values = [summary["throughput"][n][str(c)] for n in rows]
            if redis:
                values.append(redis.get(str(c), {}).get("rps"))
            f.write(f"{c} " + " ".join("NaN" if v is None else f"{v:.1f}" for v in values) + "\n")
    with open(os.path.join(d, "latency.dat"), "w") as f:
        for name in OPEN_LOOP:
            f.write(f"# {name}: offered p50 p90 p99 p999 max echo-p99 (us)\n")
            for n, offered, lat, echo_p99 in latency_rows:
                if n == name:
                    f.write(f"{offered:.1f} {lat['p50']} {lat['p90']} {lat['p99']} {lat['p999']} "
                            f"{lat['max']} {'NaN' if echo_p99 is None else echo_p99}\n")
            f.write("\n\n")
    series = rows + (["redis_incr"] if redis else [])
    plot = ", ".join(f"'throughput.dat' using 1:{i + 2} with linespoints title '{n}'"
                     for i, n in enumerate(series))
    lat_plot = []
    for i, name in enumerate(OPEN_LOOP):
        for col, label in ((2, "p50"), (4, "p99"), (5, "p99.9")):
            lat_plot.append(f"'latency.dat' index {i} using 1:{col} with linespoints "
                            f"title '{name} {label}'")
        if name == "get_policy":
            lat_plot.append(f"'latency.dat' index {i} using 1:7 with linespoints dashtype 2 "
                            f"title 'secpol-echo p99 (same load)'")
    with open(os.path.join(d, "plots.gp"), "w") as f:
        f.write("set terminal png size 1000,600 noenhanced\n")
        f.write("set output 'throughput.png'\nset title 'calls/s by connections (depth 1 each)'\n"
                "set xlabel 'connections'\nset ylabel 'calls/s'\nset logscale x 2\nset key outside\n"
                "set grid\n")
        f.write(f"plot {plot}\n")
        f.write("set output 'latency.png'\nset title 'latency by offered rate (open loop)'\n"
                "set xlabel 'offered calls/s'\nset ylabel 'latency (us)'\nunset logscale x\n"
                "set logscale y\n")
        f.write("plot " + ", ".join(lat_plot) + "\n")
    if shutil.which("gnuplot"):
        done = subprocess.run(["gnuplot", "plots.gp"], cwd=d, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"bench/report.py: gnuplot failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
    else:
        print("bench/report.py: gnuplot is not installed (scripts/install-deps --bench): "
              "no PNG plots", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
