"""boto3 calls are told apart by the AWS service id the SDK declares, not by host.

Real boto3 clients (S3 and DynamoDB) call one loopback stand-in host that the service map names
`s3`, as an S3-compatible store and a DynamoDB Local on one machine would be, or as every
`*.amazonaws.com` endpoint is by default. The spans sentry-sdk's boto3 integration sends through
the real transport, and the local per-service figures, must still say s3 for one and dynamodb for
the other.
"""

from __future__ import annotations

import boto3
import pytest
import sentry_sdk
from botocore.config import Config
from botocore.exceptions import ClientError

from library.demo import standins


@pytest.fixture
def stand_in():
    """One loopback host answering 503, and the service map that names it s3."""
    server = standins.unavailable_service()
    try:
        yield server.url, {server.url.split("//", 1)[1]: "s3", "*.amazonaws.com": "s3"}
    finally:
        server.stop()


def _call_s3_and_dynamodb(url: str) -> None:
    config = Config(connect_timeout=3, read_timeout=3, retries={"total_max_attempts": 1})
    options = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "demo",
               "aws_secret_access_key": "demo", "config": config}
    for call in (lambda: boto3.client("s3", **options).put_object(Bucket="covers", Key="1.jpg", Body=b"x"),
                 lambda: boto3.client("dynamodb", **options).get_item(TableName="loans",
                                                                      Key={"id": {"S": "1"}})):
        with pytest.raises(ClientError):  # the stand-in answers 503
            call()


def test_boto3_spans_name_the_aws_service_not_the_host(envelope_receiver, error_tracking, stand_in):
    """Through sentry-sdk's boto3 integration and real transport: aws.s3.PutObject is s3 and
    aws.dynamodb.GetItem is dynamodb, though both went to a host the map calls s3."""
    url, hosts = stand_in
    error_tracking(dsn=envelope_receiver.dsn, traces_sample_rate=1.0, profiles_sample_rate=0.0,
                   service_hosts=hosts)
    # An isolation scope of its own: the transaction's name must not stay on this thread's scope.
    with sentry_sdk.isolation_scope(), sentry_sdk.start_transaction(name="aws-calls", op="task"):
        _call_s3_and_dynamodb(url)
    sentry_sdk.flush(timeout=5)
    assert envelope_receiver.wait_for(lambda rx: any(t.get("transaction") == "aws-calls"
                                                     for t in rx.transactions()))
    [transaction] = [t for t in envelope_receiver.transactions() if t.get("transaction") == "aws-calls"]
    services = {span["description"]: (span["data"].get("service"), span["tags"].get("service"))
                for span in transaction["spans"] if str(span.get("description", "")).startswith("aws.")}
    assert services == {"aws.s3.PutObject": ("s3", "s3"), "aws.dynamodb.GetItem": ("dynamodb", "dynamodb")}


def test_the_local_service_figures_count_each_aws_service_apart(error_tracking, stand_in, tmp_path):
    """Untraced, the per-service latency and failure figures (sentry_inbox --performance, the dashboard)
    count one failed call to s3 and one to dynamodb."""
    url, hosts = stand_in
    runtime = error_tracking(dsn="", inbox_path=tmp_path / "inbox.sqlite3", traces_sample_rate=0.0,
                             profiles_sample_rate=0.0, service_hosts=hosts)
    _call_s3_and_dynamodb(url)
    runtime.aggregates.flush()
    figures = {stat.name: (stat.count, stat.failed) for stat in runtime.aggregates.services(3600)}
    assert figures == {"s3": (1, 1), "dynamodb": (1, 1)}
