"""A Python service can call every RPC the protos declare: the Python client
makes one method per RPC from the service descriptors, its list of methods
is the list secpolctl (the C registry) prints, and secpold answers each with
a status of its own (never UNIMPLEMENTED, never a client-side timeout) and,
when OK, a body of the declared response type."""

import re
import unittest

import secpol
from secpol_harness import Secpold

server = None


def _filled(request_class):
    """A request with every scalar field of the top level set: strings to
    a word of their name, enums to their first real value, numbers to 1,
    booleans true; lists and nested messages left empty."""
    request = request_class()
    for field in request_class.DESCRIPTOR.fields:
        if field.label == field.LABEL_REPEATED or field.message_type is not None:
            continue
        if field.enum_type is not None:
            value = field.enum_type.values[1].number
        elif field.type == field.TYPE_STRING:
            value = "every-" + field.name
        elif field.type == field.TYPE_BOOL:
            value = True
        elif field.type == field.TYPE_BYTES:
            value = b"every"
        else:
            value = 1
        setattr(request, field.name, value)
    return request


def setUpModule():
    global server
    server = Secpold("--test-clock")  # TestClockService is served too


def tearDownModule():
    server.stop()


class EveryRpc(unittest.TestCase):
    def test_same_methods_as_the_c_registry(self):
        c_paths = re.findall(r"^(/\S+)", server.ctl("list"), re.M)
        self.assertGreater(len(c_paths), 20)
        self.assertEqual(sorted(c_paths), sorted(path for path, _ in secpol.methods()))

    def test_each_service_and_method_is_on_the_client(self):
        client = server.client()
        for service in secpol.SERVICES:
            stub = getattr(client, service.name)
            for method in service.methods:
                rpc = getattr(stub, method.name)
                self.assertEqual(rpc.path, secpol.method_path(method))
                self.assertEqual(rpc.request_class.DESCRIPTOR, method.input_type)
                self.assertEqual(rpc.response_class.DESCRIPTOR, method.output_type)

    def test_server_answers_every_rpc(self):
        client = server.client(timeout=10)
        answered = {}
        for service in secpol.SERVICES:
            for method in service.methods:
                rpc = getattr(getattr(client, service.name), method.name)
                # empty (every field at its default), then filled
                for request in (rpc.request_class(), _filled(rpc.request_class)):
                    try:
                        response = rpc(request)
                        self.assertIsInstance(response, rpc.response_class)
                        answered[rpc.path] = "OK"
                    except secpol.SecpolError as error:
                        self.assertFalse(error.local, "%s: %s" % (rpc.path, error))
                        self.assertNotEqual(error.code, secpol.Status.UNIMPLEMENTED,
                                            "%s: %s" % (rpc.path, error))
                        if error.code == secpol.Status.INVALID_ARGUMENT:
                            self.assertTrue(error.violations, "%s names no field" % rpc.path)
                        answered[rpc.path] = error.code_name
        self.assertEqual(len(answered), len(secpol.methods()))
        for path, outcome in sorted(answered.items()):
            print("%-50s %s" % (path, outcome))
        # the filled requests that are whole succeed
        for path in ("/secpol.v1.Health/Check", "/secpol.v1.PolicyService/GetPolicy",
                     "/secpol.v1.TokenService/IssueToken", "/secpol.v1.LockoutService/RecordFailure",
                     "/secpol.v1.SessionService/CreateSession",
                     "/secpol.v1.PasswordService/CheckPassword"):
            self.assertEqual(answered[path], "OK", path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
