"""Create the first operator credential in a deployed stack (the only path around the API).

    make operator-credential STACK=partner-api-dev [REGION=eu-west-1]

Reads the stack's outputs for table names, writes the credential straight to DynamoDB with
your AWS credentials, and prints the client id and secret once. Store the secret in your
password manager; only its scrypt hash is kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "layers" / "shared"))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-name", required=True)
    parser.add_argument("--region")
    parser.add_argument("--name", default="operator")
    args = parser.parse_args()

    import boto3

    session = boto3.session.Session(region_name=args.region)
    stack = session.client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    os.environ.update(
        {
            "TENANTS_TABLE": outputs["TenantsTableName"],
            "USERS_TABLE": outputs["UsersTableName"],
            "EVENTS_TABLE": outputs["EventsTableName"],
            "AWS_DEFAULT_REGION": session.region_name or "",
        }
    )

    from partner_api.logic.credentials import issue_operator_credential

    client_id, secret = issue_operator_credential(args.name)
    print(f"operator client_id:     {client_id}")
    print(f"operator client_secret: {secret}")
    print(f"token endpoint:         {outputs.get('ApiUrl', '<ApiUrl>')}/oauth/token (scope: admin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
