"""What the boto3 test scripts share: one client construction (no retries, so a refused call is
seen once, as sent) and the forms a failing call is recorded in for the TypeScript side to assert
on. A script imports it after putting this directory on sys.path:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '<to>/test/helpers'))"""
import datetime
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

CONFIG = Config(retries={'max_attempts': 1})


def client(service, endpoint, creds=None, config=CONFIG, **kw):
    """A boto3 client for `endpoint`; with `creds` (an AccessKey or Credentials dict, as IAM and STS
    return them) it signs with those, otherwise with the environment's AWS_* credentials."""
    keys = {} if creds is None else {'aws_access_key_id': creds['AccessKeyId'], 'aws_secret_access_key': creds['SecretAccessKey'],
                                     'aws_session_token': creds.get('SessionToken')}
    return boto3.client(service, endpoint_url=endpoint, config=config, **keys, **kw)


def code(fn):
    """The AWS error code boto3 exposes for a failing call, or 'no error'."""
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return e.response['Error']['Code']


def failure(fn):
    """[code, HTTP status] of a failing call as boto3 exposes them (for a HEAD, which has no body,
    botocore's code is the status as text); 'no error' otherwise. The one form the scripts record
    a refusal in when the message does not matter."""
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]


def shape(fn):
    """[code, HTTP status, has a message] of a failing call, as boto3 exposes them; 'no error' otherwise."""
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], bool(e.response['Error'].get('Message'))]


def message(fn):
    """The error message boto3 exposes for a failing call, or 'no error'."""
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return e.response['Error'].get('Message')


def is_time(v):
    """Whether boto3 parsed `v` into a timezone-aware datetime (a timestamp the service sent in a form boto3 knows)."""
    return isinstance(v, datetime.datetime) and v.tzinfo is not None
