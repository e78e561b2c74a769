"""local/apigw.py: SAM CLI's local API Gateway gives a path's explicit methods precedence over its
ANY method, as API Gateway does. Each test fails without the patch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local import apigw

# SAM's own template validation, on the way to its routes.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning:samtranslator.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:samcli.*"),
]
TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.13
    CodeUri: .
Resources:
  ThingsApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
{functions}
"""
FUNCTION = """\
  {name}:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {name}.handler
      Events:
        Api:
          Type: Api
          Properties:
            RestApiId: !Ref ThingsApi
            Path: {path}
            Method: {method}
"""
EXPLICIT = [
    ("ListThings", "/things", "get"),
    ("AddThing", "/things", "post"),
    ("GetThing", "/things/{id}", "get"),
]
CATCH_ALL = [("CatchAll", "/things", "any"), ("CatchAllOne", "/things/{id}", "any")]


class EchoRunner:
    """Stands in for the Lambda runner: answers with the name of the function it was asked to run."""

    def is_debugging(self) -> bool:
        return False

    def invoke(self, function_identifier: str, event: str, stdout: Any = None, **_: Any) -> None:
        answer = {"statusCode": 200, "headers": {"X-Function": function_identifier}, "body": ""}
        stdout.write_str(json.dumps(answer))


def served_by(template: Path | None = None) -> Any:
    """A test client of SAM's local API Gateway over ``template`` (default: the project's, through
    the local runner's own reading of it); each answer's X-Function header names the function that ran."""
    from samcli.lib.utils.stream_writer import StreamWriter
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    if template is None:
        from local.run import read_template

        _, api = read_template()
    else:
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

        apigw.apply()
        stacks, _ = SamLocalStackProvider.get_stacks(str(template))
        api = ApiProvider(stacks).api
    service = LocalApigwService(api, EchoRunner(), host="127.0.0.1", stderr=StreamWriter(_Sink()))
    service.create()
    return service._app.test_client()


class _Sink:
    def write(self, _data: Any) -> None: ...

    def flush(self) -> None: ...


@pytest.mark.parametrize("any_declared", ["after", "before"])
def test_explicit_methods_win_over_any_whichever_is_declared_first(tmp_path: Path, any_declared: str):
    # Given routes and catch-all ANY methods on the same paths, the ANY ones declared after or before
    functions = [*EXPLICIT, *CATCH_ALL] if any_declared == "after" else [*CATCH_ALL, *EXPLICIT]
    template = tmp_path / "template.yaml"
    template.write_text(
        TEMPLATE.format(
            functions="\n".join(FUNCTION.format(name=n, path=p, method=m) for n, p, m in functions)
        )
    )

    # When SAM's local API Gateway serves them
    client = served_by(template)

    # Then each declared method reaches its own function and every other method the ANY one
    def ran(method: str, path: str) -> str:
        return str(client.open(path, method=method).headers.get("X-Function"))

    assert ran("GET", "/things") == "ListThings"
    assert ran("POST", "/things") == "AddThing"
    assert ran("GET", "/things/42") == "GetThing"
    for method in ("PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        assert ran(method, "/things") == "CatchAll", method
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert ran(method, "/things/42") == "CatchAllOne", method


def test_the_local_run_routes_the_templates_methods_to_their_functions_and_the_rest_to_405():
    # Given the project's template as the local runner reads it
    client = served_by()

    def ran(method: str, path: str) -> str:
        return str(client.open(path, method=method).headers.get("X-Function"))

    # Then the routes' own methods reach their functions, and the others MethodNotAllowedFunction
    client_path = "/partner/v1/clients/0b9e2c1a-5d3f-4e8a-9c7b-2f6d1e0a4b38"
    assert ran("GET", "/partner/v1/clients") == "ListClientsFunction"
    assert ran("POST", "/partner/v1/clients") == "RegisterClientFunction"
    assert ran("GET", client_path) == "GetClientFunction"
    assert ran("PATCH", client_path) == "UpdateClientFunction"
    assert ran("DELETE", client_path) == "RemoveClientFunction"
    assert ran("GET", "/health") == "HealthFunction"
    for method, path in [
        ("PUT", "/partner/v1/clients"),
        ("DELETE", "/partner/v1/clients"),
        ("POST", client_path),
        ("DELETE", "/health"),
    ]:
        assert ran(method, path) == "MethodNotAllowedFunction", (method, path)


class BodyEchoRunner(EchoRunner):
    """Answers with the body the function was given."""

    def invoke(self, function_identifier: str, event: str, stdout: Any = None, **_: Any) -> None:
        answer = {"statusCode": 200, "headers": {}, "body": json.loads(event)["body"]}
        stdout.write_str(json.dumps(answer))


def test_a_body_that_is_not_utf8_reaches_the_function_decoded_with_replacement_characters():
    # Given SAM's local API Gateway over the project's template, patched as the local run is
    from samcli.lib.utils.stream_writer import StreamWriter
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    from local.run import read_template

    _, api = read_template()
    service = LocalApigwService(api, BodyEchoRunner(), host="127.0.0.1", stderr=StreamWriter(_Sink()))
    service.create()

    # When a JSON request's body holds bytes that are not UTF-8
    reply = service._app.test_client().post(
        "/partner/v1/clients", data=b"\xff{\xfe", headers={"Content-Type": "application/json"}
    )

    # Then the function gets it (and can answer 400), as from API Gateway, rather than SAM's 502
    assert reply.status_code == 200
    assert reply.get_data(as_text=True) == "\ufffd{\ufffd"
