"""clients/examples/login_flow.py, the example backend client that
docker/compose.yaml runs, does its login flow against a real secpold: every
step behaves (exit 0), again for the same user on the same store, and what
it did is what secpolctl (the C client) then sees."""

import os
import subprocess
import sys
import unittest

from secpol_harness import DEADLINE, Secpold

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "clients", "examples",
                       "login_flow.py")
server = None


def setUpModule():
    global server
    server = Secpold()


def tearDownModule():
    server.stop()


def run_example(*args):
    return subprocess.run([sys.executable, EXAMPLE, "--endpoint", server.endpoint, *args],
                          capture_output=True, text=True, timeout=DEADLINE)


class LoginExample(unittest.TestCase):
    def test_flow_passes_twice_for_one_user(self):
        for attempt in (1, 2):
            done = run_example("--user", "alice", "--workspace", "w-example")
            self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
            for step in ("login page: lockout", "wrong password", "right password", "session",
                         "reset link: first use", "reset link: second use"):
                self.assertRegex(done.stdout, r"(?m)^ok +%s " % step)
            self.assertNotIn("FAIL", done.stdout)
            self.assertIn("login flow: all steps as expected", done.stdout)
            self.assertRegex(done.stdout, r"1 sessions signed out")
        # what the flow left: alice's count cleared, her sessions ended by the
        # password reset, her authenticator app enrolled
        status = server.ctl_json("lockout", "status", "w-example", "alice", "--kind", "login")
        self.assertEqual(status["failures"], 0)
        self.assertFalse(status["locked"])
        sessions = server.ctl_json("session", "list", "w-example", "alice")
        self.assertEqual(sessions.get("sessions", []), [])
        totp = server.ctl_json("call", "OtpService/GetTotpStatus",
                               '{"workspace_id": "w-example", "subject_id": "alice"}')
        self.assertTrue(totp.get("enrolled"), totp)

    def test_no_server_fails(self):
        done = subprocess.run([sys.executable, EXAMPLE, "--endpoint",
                               "ipc://%s/nobody.sock" % server.tmp, "--timeout", "0.2"],
                              capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(done.returncode, 1)
        self.assertIn("UNAVAILABLE", done.stdout)

    def test_bad_endpoint_is_usage(self):
        done = subprocess.run([sys.executable, EXAMPLE, "--endpoint", "nowhere"],
                              capture_output=True, text=True, timeout=DEADLINE)
        self.assertEqual(done.returncode, 2)
        self.assertIn("nowhere", done.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
