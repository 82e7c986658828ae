"""One Python client, two secpold on one PostgreSQL store (docs/SCALING.md):
a secpol.Client given both endpoints writes through one instance and reads
through the other, and the reads see the writes (a token, a policy, a
lockout count); the example login flow passes against both at once; when
one instance is killed the client goes on with the other, and every write
acknowledged before is there.

ctest's pg fixture starts the server (SECPOL_TEST_PG); the test works in a
fresh schema of its own, dropped at the end. Which instance answered a call
is read from each instance's /metrics (secpol_requests_total), never
guessed from timing.
"""

import os
import subprocess
import sys
import unittest

import secpol
from secpol_harness import DEADLINE, Secpold

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "clients", "examples",
                       "login_flow.py")
PSQL = os.path.join(os.environ.get("PG_BINDIR", "/usr/lib/postgresql/15/bin"), "psql")
HEALTH = "/secpol.v1.Health/Check"
ISSUE = "/secpol.v1.TokenService/IssueToken"
VERIFY = "/secpol.v1.TokenService/VerifyToken"
CONSUME = "/secpol.v1.TokenService/ConsumeToken"
UPDATE = "/secpol.v1.PolicyService/UpdatePolicy"
GET = "/secpol.v1.PolicyService/GetPolicy"
FAILURE = "/secpol.v1.LockoutService/RecordFailure"
CHECK = "/secpol.v1.LockoutService/CheckLockout"
KIND = "TOKEN_KIND_PASSWORD_RESET"


def psql(sql):
    subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", os.environ["SECPOL_TEST_PG"],
                    "-c", sql], check=True, capture_output=True, timeout=DEADLINE)


class SharedStore(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("SECPOL_TEST_PG")
        if not base:
            self.fail("SECPOL_TEST_PG is not set: run this test through ctest (its pg fixture "
                      "starts the server) or start one with tests/support/pg_cluster")
        schema = "py_%d" % os.getpid()
        psql("CREATE SCHEMA %s" % schema)
        self.addCleanup(psql, "DROP SCHEMA %s CASCADE" % schema)
        store = "%s%coptions=-csearch_path%%3D%s" % (base, "&" if "?" in base else "?", schema)
        self.first = Secpold(metrics=True, store=store)
        self.addCleanup(self.first.stop)
        # the same key file: one deployment, one key for stored hashes
        key_file = os.path.join(self.first.tmp, "data", "secret.key")
        self.second = Secpold(metrics=True, store=store, key_file=key_file)
        self.addCleanup(self.second.stop)
        self.servers = (self.first, self.second)
        self.client = secpol.Client([self.first.endpoint, self.second.endpoint], timeout=30)
        self.addCleanup(self.client.close)

    def answered_by(self, method, call):
        """Runs call() (one call of method); returns (its result, the server
        that answered it)."""
        before = [server.served(method) for server in self.servers]
        result = call()
        grown = [server for server, count in zip(self.servers, before)
                 if server.served(method) > count]
        self.assertEqual(len(grown), 1, "%s answered by %d instances" % (method, len(grown)))
        return result, grown[0]

    def test_writes_through_one_reads_through_the_other(self):
        # Until both have answered: the client alternates from then on.
        answered = set()
        for _ in range(1000):
            _, server = self.answered_by(HEALTH, self.client.Health.Check)
            answered.add(server)
            if len(answered) == 2:
                break
        self.assertEqual(len(answered), 2)
        writer = self.first if server is self.second else self.second  # the next call's

        issued, by = self.answered_by(ISSUE, lambda: self.client.TokenService.IssueToken(
            workspace_id="ws-pg", kind=KIND, subject_id="alice"))
        self.assertIs(by, writer)
        reader = self.second if writer is self.first else self.first
        info, by = self.answered_by(VERIFY, lambda: self.client.TokenService.VerifyToken(
            token=issued.token, kind=KIND))
        self.assertIs(by, reader)
        self.assertEqual(info.subject_id, "alice")

        policy, by = self.answered_by(UPDATE, lambda: self.client.PolicyService.UpdatePolicy(
            workspace_id="ws-pg", policy={"session_timeout_minutes": 17},
            update_mask=["session_timeout_minutes"]))
        self.assertIs(by, writer)
        read, by = self.answered_by(GET, lambda: self.client.PolicyService.GetPolicy(
            workspace_id="ws-pg"))
        self.assertIs(by, reader)
        self.assertEqual(read.version, policy.version)
        self.assertEqual(read.session_timeout_minutes, 17)

        _, by = self.answered_by(FAILURE, lambda: self.client.LockoutService.RecordFailure(
            workspace_id="ws-pg", subject_id="bob", kind="LOCKOUT_KIND_LOGIN"))
        self.assertIs(by, writer)
        status, by = self.answered_by(CHECK, lambda: self.client.LockoutService.CheckLockout(
            workspace_id="ws-pg", subject_id="bob", kind="LOCKOUT_KIND_LOGIN"))
        self.assertIs(by, reader)
        self.assertEqual(status.failures, 1)

        # Consumed through the writer: the reader finds it gone.
        _, by = self.answered_by(CONSUME, lambda: self.client.TokenService.ConsumeToken(
            token=issued.token, kind=KIND))
        self.assertIs(by, writer)
        with self.assertRaises(secpol.SecpolError) as caught:
            self.answered_by(VERIFY, lambda: self.client.TokenService.VerifyToken(
                token=issued.token, kind=KIND))
        self.assertEqual(caught.exception.code, secpol.Status.NOT_FOUND)

    def test_login_example_against_both(self):
        before = [server.served() for server in self.servers]
        done = subprocess.run([sys.executable, EXAMPLE, "--endpoint",
                               "%s,%s" % (self.first.endpoint, self.second.endpoint),
                               "--timeout", "30"],
                              capture_output=True, text=True, timeout=DEADLINE * 3)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("login flow: all steps as expected", done.stdout)
        # both instances took part in the one flow
        for server, count in zip(self.servers, before):
            self.assertGreater(server.served(), count + 3)

    def test_one_killed_the_other_serves_every_acknowledged_write(self):
        tokens = [self.client.TokenService.IssueToken(workspace_id="ws-pg", kind=KIND,
                                                      subject_id="u%d" % i).token
                  for i in range(20)]
        self.assertGreater(self.first.served(ISSUE), 0)
        self.assertGreater(self.second.served(ISSUE), 0)
        self.first.kill()
        # Every token, whichever instance issued it, verifies through the
        # client that has one instance left (a read the dead one had is
        # asked again of the other; two reads in turn leave the client
        # knowing the first is down, so no write below is sent to it)...
        for i, token in enumerate(tokens):
            self.assertEqual(self.client.TokenService.VerifyToken(token=token, kind=KIND)
                             .subject_id, "u%d" % i)
        # ... and is consumed exactly once.
        for token in tokens:
            self.client.TokenService.ConsumeToken(token=token, kind=KIND)
            with self.assertRaises(secpol.SecpolError) as caught:
                self.client.TokenService.ConsumeToken(token=token, kind=KIND)
            self.assertEqual(caught.exception.code, secpol.Status.NOT_FOUND)


if __name__ == "__main__":
    unittest.main(verbosity=2)
