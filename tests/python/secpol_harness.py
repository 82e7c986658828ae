"""secpol_harness - a real secpold for the Python tests (tests/python).

    from secpol_harness import Secpold
    server = Secpold("--test-clock")      # temp dir, ipc:// endpoint, answering
    server = Secpold(*curve_options, keys={"server_key": ..., "client_cert": ...})
                                          # CURVE: the keys its clients and secpolctl use
    client = server.client()              # a secpol.Client on it
    out = server.ctl("policy", "get", "w1", "-o", "json")   # secpolctl
    server.stop()                         # SIGTERM; it must exit 0
    server = Secpold(metrics=True)        # also serves /metrics: server.served(path)
    server = Secpold(store=uri, key_file=path)   # on a PostgreSQL store (pg_schema())
    server.kill()                         # SIGKILL: an instance that dies

Nothing waits a fixed time: the start polls Health/Check (each try waits at
most 200 ms for an answer) until the server answers or a deadline of
SECPOL_TEST_DEADLINE seconds (default 20) passes; the stop waits for the
process to exit, with the same deadline. ctest gives SECPOLD, SECPOLCTL and
PYTHONPATH (the build tree's python/ directory).
"""

import faulthandler
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

import secpol

SECPOLD = os.environ["SECPOLD"]
SECPOLCTL = os.environ["SECPOLCTL"]
DEADLINE = float(os.environ.get("SECPOL_TEST_DEADLINE", "20"))

# A test that hangs prints every thread's stack and exits before ctest's
# timeout kills it without a word.
faulthandler.dump_traceback_later(float(os.environ.get("SECPOL_PYTHON_TEST_LIMIT", "110")),
                                  exit=True)


class Secpold:
    """One secpold on ipc://TMP/s.sock with its store in TMP/data (or on
    the PostgreSQL store URI store), its metrics on a free port when
    metrics is True."""

    def __init__(self, *options, keys=None, tmp=None, metrics=False, store=None, key_file=None):
        self.keys = dict(keys or {})
        self.tmp = tmp or tempfile.mkdtemp(prefix="secpol-py-")
        self.endpoint = "ipc://%s/s.sock" % self.tmp
        self.log_path = os.path.join(self.tmp, "secpold.log")
        if metrics:
            options += ("--metrics-listen", "127.0.0.1:0")
        if store:
            options += ("--store", store)
        if key_file:
            options += ("--key-file", key_file)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [SECPOLD, "--endpoint", self.endpoint, "--data-dir",
                 os.path.join(self.tmp, "data"), *options], stderr=log)
        self._clients = []
        self.ctl_env = {}  # more environment for secpolctl (another SECPOL_CLIENT_CERT)
        give_up = time.monotonic() + DEADLINE
        probe = secpol.Client(self.endpoint, timeout=0.2, **self.keys)
        try:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError("secpold exited (%d) before it answered:\n%s"
                                       % (self.process.returncode, self.log()))
                try:
                    probe.Health.Check()
                    break
                except secpol.SecpolError as error:
                    if error.code != secpol.Status.UNAVAILABLE or time.monotonic() > give_up:
                        raise
        finally:
            probe.close()
        self.metrics_address = None
        if metrics:
            found = re.search(r'msg="metrics listening" address=(\S+)', self.log())
            if not found:
                raise RuntimeError("secpold logged no metrics address:\n%s" % self.log())
            self.metrics_address = found.group(1)

    def served(self, method=None):
        """Replies this server sent to method (a wire path; None: to any
        method but Health/Check), whatever their status, from its /metrics
        (secpol_requests_total), counted before each reply leaves."""
        with urllib.request.urlopen("http://%s/metrics" % self.metrics_address,
                                    timeout=DEADLINE) as page:
            text = page.read().decode()
        name = re.escape(method) if method else r'/(?!secpol\.v1\.Health/)[^"]+'
        pattern = re.compile(r'^secpol_requests_total\{method="%s",code="[A-Z_]+"\} (\d+)$'
                             % name, re.M)
        return sum(int(count) for count in pattern.findall(text))

    def stopped(self):
        """True while the process is stopped (SIGSTOP): state T in /proc."""
        try:
            with open("/proc/%d/stat" % self.process.pid) as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
        except (OSError, IndexError):
            return False

    def kill(self):
        """SIGKILL (stopped or not): the instance dies without a word; stop()
        then only cleans up."""
        self.process.kill()
        self.process.wait()

    def client(self, **options):
        """A secpol.Client on this server, closed by stop()."""
        client = secpol.Client(self.endpoint, **{**self.keys, **options})
        self._clients.append(client)
        return client

    def ctl(self, *args, want=0, stdin=None):
        """Runs secpolctl against this server; returns its stdout, checking
        its exit status is want."""
        env = dict(os.environ)
        if "server_key" in self.keys:
            env["SECPOL_SERVER_KEY"] = self.keys["server_key"]
        if "client_cert" in self.keys:
            env["SECPOL_CLIENT_CERT"] = self.keys["client_cert"]
        env.update(self.ctl_env)
        done = subprocess.run([SECPOLCTL, "--endpoint", self.endpoint, *args], input=stdin,
                              capture_output=True, text=True, timeout=DEADLINE, env=env)
        if done.returncode != want:
            raise AssertionError("secpolctl %s: exit %d, expected %d\nstdout: %s\nstderr: %s"
                                 % (" ".join(args), done.returncode, want, done.stdout,
                                    done.stderr))
        return done.stdout

    def ctl_json(self, *args, want=0):
        return json.loads(self.ctl(*args, "-o", "json", want=want))

    def log(self):
        with open(self.log_path, errors="replace") as log:
            return log.read()

    def stop(self):
        """SIGTERM, then waits; returns the exit status and removes the temp dir."""
        for client in self._clients:
            client.close()
        killed = self.process.returncode == -signal.SIGKILL
        if not killed:
            if self.stopped():  # a SIGSTOP a test left: SIGTERM acts once continued
                self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        log = self.log()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if status != 0 and not killed:
            raise AssertionError("secpold exited %d after SIGTERM:\n%s" % (status, log[-3000:]))
        return status
