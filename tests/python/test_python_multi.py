"""One Python client, several secpold (docs/PYTHON.md, "Several
instances"): two real secpold, each on its own LMDB store, and a
secpol.Client given both endpoints. Calls are spread over both (each
instance's /metrics counts its half); reads go on while one is killed; a
read in flight on an instance that dies is answered by the other; a write in
flight on an instance that dies raises UNAVAILABLE "it may or may not have
been done" and is not sent again (the other instance never sees it); a list
with an instance that never started still serves; CURVE works with one
server key for both.

The two stores differ on purpose: a token issued on B alone is OK from B and
NOT_FOUND from A, so each answer says which instance gave it. To have a call
in flight on a stopped instance without a sleep, A is stopped (SIGSTOP), the
call runs in a thread, and A is killed once that thread is blocked in
poll(2) waiting for the reply (/proc/self/task/TID/syscall), as
tests/e2e/test_client_multi.c does for the C client.
"""

import ctypes
import os
import signal
import subprocess
import tempfile
import threading
import unittest

import secpol
from secpol_harness import DEADLINE, SECPOLCTL, Secpold

VERIFY = "/secpol.v1.TokenService/VerifyToken"
CONSUME = "/secpol.v1.TokenService/ConsumeToken"
FAILURE = "/secpol.v1.LockoutService/RecordFailure"
KIND = "TOKEN_KIND_ACCOUNT_VERIFICATION"
TRIES = 1000  # calls to see both instances answer; round robin needs 2
# poll(2) and ppoll(2), the calls zmq_poll waits in, by machine
POLL_CALLS = {"x86_64": (7, 271), "aarch64": (73,), "i686": (168, 309)}


def issue(server):
    """A token issued on server alone (through a client of its own)."""
    client = server.client()
    return client.TokenService.IssueToken(workspace_id="ws", kind=KIND, subject_id="alice").token


def verify(client, token):
    """Which instance answered VerifyToken(token on B only): "a" or "b"."""
    try:
        client.TokenService.VerifyToken(token=token, kind=KIND)
        return "b"
    except secpol.SecpolError as error:
        if error.code != secpol.Status.NOT_FOUND:
            raise
        return "a"


def see_both(client, token):
    """Verifies until both instances answered, B after A: the next call goes to A."""
    answers = []
    for _ in range(TRIES):
        answers.append(verify(client, token))
        if answers[-2:] == ["a", "b"]:
            return
    raise AssertionError("both instances never answered in turn: %s" % answers[-10:])


def waiting_in_poll(tid):
    """True while thread tid is blocked in poll(2)/ppoll(2) with a timeout
    (the client waiting for a reply: its sends never block there)."""
    try:
        with open("/proc/self/task/%d/syscall" % tid) as file:
            fields = file.read().split()
    except OSError:
        return False
    if len(fields) < 4 or not fields[0].isdigit():
        return False
    return int(fields[0]) in POLL_CALLS.get(os.uname().machine, ()) and int(fields[3], 16) != 0


class Pair(unittest.TestCase):
    """A and B, fresh for each test."""

    def setUp(self):
        self.a = Secpold(metrics=True)
        self.addCleanup(self.a.stop)
        self.b = Secpold(metrics=True)
        self.addCleanup(self.b.stop)
        self.token_b = issue(self.b)
        self.client = secpol.Client([self.a.endpoint, self.b.endpoint], timeout=30)
        self.addCleanup(self.client.close)

    def call_into_dying(self, call):
        """Makes call() send to A, stopped, and kills A while the call
        waits for its reply. Returns what the call returned or raised. The
        client's next call must go to A (see_both)."""
        os.kill(self.a.process.pid, signal.SIGSTOP)
        result = {}

        def run():
            result["tid"] = threading.get_native_id()
            try:
                result["reply"] = call()
            except secpol.SecpolError as error:
                result["error"] = error

        thread = threading.Thread(target=run)
        thread.start()
        while thread.is_alive() and ("tid" not in result or not waiting_in_poll(result["tid"])):
            os.sched_yield()
        returned_early = not thread.is_alive()
        self.a.kill()
        thread.join(DEADLINE)
        self.assertFalse(thread.is_alive(), "the call never returned")
        # A is stopped: nothing may answer before it is killed
        self.assertFalse(returned_early, "the call returned before its instance died: %s"
                         % result.get("error"))
        return result

    def test_calls_spread_over_both(self):
        self.assertEqual(self.client.endpoint, "%s,%s" % (self.a.endpoint, self.b.endpoint))
        self.assertEqual(self.client.endpoints, (self.a.endpoint, self.b.endpoint))
        see_both(self.client, self.token_b)
        served = {s: (s.served(VERIFY), s.served(FAILURE)) for s in (self.a, self.b)}
        # Both connected: calls alternate, reads and writes alike.
        answers = [verify(self.client, self.token_b) for _ in range(10)]
        self.assertEqual(answers, ["a", "b"] * 5)
        for i in range(10):
            self.client.LockoutService.RecordFailure(workspace_id="ws", subject_id="u%d" % i,
                                                     kind="LOCKOUT_KIND_LOGIN")
        for server in (self.a, self.b):
            verified, failures = served[server]
            self.assertEqual(server.served(VERIFY) - verified, 5)
            self.assertEqual(server.served(FAILURE) - failures, 5)

    def test_reads_go_on_while_one_is_killed(self):
        see_both(self.client, self.token_b)
        answers, errors = [], []
        twenty = threading.Event()

        def reader():
            try:
                for _ in range(200):
                    answers.append(verify(self.client, self.token_b))
                    if len(answers) == 20:
                        twenty.set()
            except secpol.SecpolError as error:
                errors.append(error)
            finally:
                twenty.set()

        thread = threading.Thread(target=reader)
        thread.start()
        twenty.wait(DEADLINE)
        self.a.kill()  # while the reader goes on
        thread.join(DEADLINE)
        self.assertFalse(thread.is_alive())
        self.assertEqual(errors, [])
        self.assertEqual(len(answers), 200)
        self.assertIn("a", answers[:20])
        # A is gone: the last answers are all B's
        self.assertEqual(answers[-20:], ["b"] * 20)
        # Writes too: they go to B (the only one left) and are done once.
        self.client.TokenService.ConsumeToken(token=self.token_b, kind=KIND)
        self.assertEqual(verify(self.client, self.token_b), "a")  # NOT_FOUND, now from B

    def test_read_in_flight_goes_to_the_other(self):
        see_both(self.client, self.token_b)  # the next call goes to A
        before = self.b.served(VERIFY)
        result = self.call_into_dying(
            lambda: self.client.TokenService.VerifyToken(token=self.token_b, kind=KIND))
        # Sent to A (NOT_FOUND there); an answer can only be B's.
        self.assertNotIn("error", result)
        self.assertEqual(result["reply"].subject_id, "alice")
        self.assertEqual(self.b.served(VERIFY), before + 1)

    def test_write_in_flight_is_not_sent_again(self):
        see_both(self.client, self.token_b)  # the next call goes to A
        stats = self.b.client().AdminService.GetStats()
        consumed = self.b.served(CONSUME)
        result = self.call_into_dying(
            lambda: self.client.TokenService.ConsumeToken(token=self.token_b, kind=KIND))
        self.assertIn("error", result, "ConsumeToken answered: %s" % result.get("reply"))
        error = result["error"]
        self.assertEqual(error.code, secpol.Status.UNAVAILABLE)
        self.assertTrue(error.local)
        self.assertEqual(error.method, CONSUME)
        self.assertIn("may or may not have been done", error.message)
        self.assertIn("not sent again (not idempotent)", error.message)
        self.assertIn(self.a.endpoint, error.message)
        # B never got it: the token is still there and B carried no write.
        self.assertEqual(self.b.served(CONSUME), consumed)
        self.assertEqual(self.b.client().AdminService.GetStats().writes.requests,
                         stats.writes.requests)
        self.assertEqual(verify(self.b.client(), self.token_b), "b")
        # The client goes on with B.
        self.assertEqual(self.client.TokenService.ConsumeToken(token=self.token_b,
                                                               kind=KIND).subject_id, "alice")


class Lists(unittest.TestCase):
    def test_bad_endpoint_lists(self):
        many = ",".join("ipc:///tmp/secpol-py-nowhere-%d" % i for i in range(17))
        for bad in ("ipc:///tmp/a,", ",ipc:///tmp/a", "ipc:///tmp/a,,ipc:///tmp/b", ",", "",
                    many, ["ipc:///tmp/a", ""], ["ipc:///tmp/a,ipc:///tmp/b"],
                    ["ipc:///tmp/a", 7], 7, "ipc:///tmp/a,tcp://nowhere:notaport"):
            with self.subTest(endpoint=bad), self.assertRaises(secpol.SecpolError) as caught:
                secpol.Client(bad)
            self.assertEqual(caught.exception.code, secpol.Status.INVALID_ARGUMENT)
            self.assertTrue(caught.exception.local)

    def test_list_and_string_alike(self):
        pair = ["ipc:///tmp/secpol-py-nowhere-a", "ipc:///tmp/secpol-py-nowhere-b"]
        with secpol.Client(pair) as by_list, secpol.Client(",".join(pair)) as by_string:
            self.assertEqual(by_list.endpoint, by_string.endpoint)
            self.assertEqual(by_list.endpoints, tuple(pair))
            self.assertEqual(by_string.endpoints, tuple(pair))
        with secpol.Client([]) as default:
            self.assertEqual(default.endpoint, secpol.DEFAULT_ENDPOINT)

    def test_idempotent_table(self):
        # reads yes; writes and reads that may write no
        self.assertTrue(secpol.idempotent("/secpol.v1.PolicyService/GetPolicy"))
        self.assertTrue(secpol.idempotent(VERIFY))
        for method in (CONSUME, FAILURE, "/secpol.v1.SessionService/ValidateSession",
                       "/secpol.v1.PasswordService/CheckPassword",
                       "/secpol.v1.OtpService/VerifyTotp", "/secpol.v1.Nothing/Here"):
            self.assertFalse(secpol.idempotent(method), method)
        known = {path for path, _ in secpol.methods()}
        self.assertLessEqual(set(secpol.IDEMPOTENT), known)

    @unittest.skipUnless(os.environ.get("SECPOL_CLIENT_LIB"),
                         "the C library is sanitized here (it cannot load into python3)")
    def test_idempotent_table_is_the_c_clients(self):
        library = ctypes.CDLL(os.environ["SECPOL_CLIENT_LIB"])
        library.secpol_client_idempotent.argtypes = [ctypes.c_char_p]
        library.secpol_client_idempotent.restype = ctypes.c_bool
        for path, _ in secpol.methods():
            self.assertEqual(secpol.idempotent(path),
                             library.secpol_client_idempotent(path.encode()), path)


class Absent(unittest.TestCase):
    def test_a_never_started_instance_costs_nothing(self):
        server = Secpold(metrics=True)
        self.addCleanup(server.stop)
        never = "ipc://%s/never.sock" % server.tmp
        for endpoints in ([never, server.endpoint], [server.endpoint, never]):
            with self.subTest(endpoints=endpoints), \
                    secpol.Client(endpoints, timeout=30) as client:
                before = server.served(FAILURE)
                for i in range(10):
                    self.assertEqual(client.Health.Check().status,
                                     secpol.v1.health_pb2.SERVING)
                    client.LockoutService.RecordFailure(workspace_id="ws", subject_id="n%d" % i,
                                                        kind="LOCKOUT_KIND_LOGIN")
                self.assertEqual(server.served(FAILURE), before + 10)

    def test_none_started_is_unavailable(self):
        tmp = tempfile.mkdtemp(prefix="secpol-py-none-")
        self.addCleanup(os.rmdir, tmp)
        with secpol.Client("ipc://%s/a.sock,ipc://%s/b.sock" % (tmp, tmp), timeout=0.2) as client:
            with self.assertRaises(secpol.SecpolError) as caught:
                client.Health.Check()
        self.assertEqual(caught.exception.code, secpol.Status.UNAVAILABLE)
        self.assertTrue(caught.exception.local)
        self.assertIn("no instance connected in time", caught.exception.message)


class Curve(unittest.TestCase):
    """Two CURVE secpold with the deployment's one server key."""

    def test_both_instances_over_curve(self):
        tmp = tempfile.mkdtemp(prefix="secpol-py-multi-curve-")
        keys = os.path.join(tmp, "keys")
        for name, directory in (("secpold", "server"), ("billing", "allowed"),
                                ("intruder", "other")):
            os.makedirs(os.path.join(keys, directory), mode=0o700, exist_ok=True)
            subprocess.run([SECPOLCTL, "keygen", name, "--role", "service", "--dir",
                            os.path.join(keys, directory)], check=True, capture_output=True,
                           timeout=DEADLINE)
        options = ("--curve-secret-key", os.path.join(keys, "server", "secpold_secret"),
                   "--authorized-keys", os.path.join(keys, "allowed"))
        client_keys = {"server_key": os.path.join(keys, "server", "secpold"),
                       "client_cert": os.path.join(keys, "allowed", "billing_secret")}
        a = Secpold(*options, keys=client_keys, metrics=True)
        self.addCleanup(a.stop)
        b = Secpold(*options, keys=client_keys, metrics=True)
        self.addCleanup(b.stop)
        token = issue(b)
        with secpol.Client([a.endpoint, b.endpoint], timeout=30, **client_keys) as client:
            see_both(client, token)
            self.assertEqual([verify(client, token) for _ in range(4)], ["a", "b"] * 2)
        # A key neither allows: refused at the handshake by both, at once
        # (no timeout: a client that waited for one would hang the test).
        with secpol.Client([a.endpoint, b.endpoint], timeout=None,
                           server_key=client_keys["server_key"],
                           client_cert=os.path.join(keys, "other", "intruder_secret")) as intruder:
            with self.assertRaises(secpol.SecpolError) as caught:
                intruder.Health.Check()
        self.assertEqual(caught.exception.code, secpol.Status.UNAUTHENTICATED)
        self.assertTrue(caught.exception.local)
        self.assertIn("every instance", caught.exception.message)


if __name__ == "__main__":
    unittest.main(verbosity=2)
