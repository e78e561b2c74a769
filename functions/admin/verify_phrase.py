"""POST /admin/v1/partners/{partnerId}/verify-phrase: does the caller's phrase match?"""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import partners
from partner_api.models.partners import PhraseCheck
from partner_api.models.responses import PhraseMatch

api = Api()


@api.route(
    "POST",
    "/admin/v1/partners/{partnerId}/verify-phrase",
    auth="operator",
    body=PhraseCheck,
    response=PhraseMatch,
)
def verify_phrase(call: Call) -> Response[str]:
    matched = partners.phrase_matches(call.path_id("partnerId"), call.body().phrase)
    return call.ok("Verification phrase checked.", {"match": matched})


handler = api.handler
