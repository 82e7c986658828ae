"""secpol_harness - a real secpold for the Python tests (tests/python).

    from secpol_harness import Secpold
    server = Secpold("--test-clock")      # temp dir, ipc:// endpoint, answering
    server = Secpold(*curve_options, keys={"server_key": ..., "client_cert": ...})
                                          # CURVE: the keys its clients and secpolctl use
    client = server.client()              # a secpol.Client on it
    out = server.ctl("policy", "get", "w1", "-o", "json")   # secpolctl
    server.stop()                         # SIGTERM; it must exit 0

Nothing waits a fixed time: the start polls Health/Check (each try waits at
most 200 ms for an answer) until the server answers or a deadline of
SECPOL_TEST_DEADLINE seconds (default 20) passes; the stop waits for the
process to exit, with the same deadline. ctest gives SECPOLD, SECPOLCTL and
PYTHONPATH (the build tree's python/ directory).
"""

import faulthandler
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import secpol

SECPOLD = os.environ["SECPOLD"]
SECPOLCTL = os.environ["SECPOLCTL"]
DEADLINE = float(os.environ.get("SECPOL_TEST_DEADLINE", "20"))

# A test that hangs prints every thread's stack and exits before ctest's
# timeout kills it without a word.
faulthandler.dump_traceback_later(float(os.environ.get("SECPOL_PYTHON_TEST_LIMIT", "110")),
                                  exit=True)


class Secpold:
    """One secpold on ipc://TMP/s.sock with its store in TMP/data."""

    def __init__(self, *options, keys=None, tmp=None):
        self.keys = dict(keys or {})
        self.tmp = tmp or tempfile.mkdtemp(prefix="secpol-py-")
        self.endpoint = "ipc://%s/s.sock" % self.tmp
        self.log_path = os.path.join(self.tmp, "secpold.log")
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
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            status = self.process.wait()
        log = self.log()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if status != 0:
            raise AssertionError("secpold exited %d after SIGTERM:\n%s" % (status, log[-3000:]))
        return status
