"""The reference scenario (README: a training pipeline reading encrypted PII, writing encrypted
models) driven by boto3, for pipeline-real-clients.test.ts. `python3 pipeline-real-clients.py SECTION`
runs one step and prints one JSON object of observations. ENDPOINT (HTTPS), PLAIN (HTTP), CA_FILE,
STATE (a JSON file the steps share) and the root credentials come from the environment."""
import datetime, json, os, ssl, sys, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
import boto3_common
from botocore.config import Config

ENDPOINT = os.environ['ENDPOINT']
PLAIN = os.environ['PLAIN']
CA_FILE = os.environ['CA_FILE']
STATE = os.environ['STATE']
PII = os.environ['PII'].encode()
ACCOUNT = '000000000000'
CONFIG = boto3_common.CONFIG.merge(Config(s3={'addressing_style': 'path'}))
ROLE = 'arn:aws:iam::%s:role/pipeline' % ACCOUNT
ROOT = 'arn:aws:iam::%s:root' % ACCOUNT


def client(service, creds=None, endpoint=None):
    url = ENDPOINT if endpoint is None else endpoint
    # SigV4 presigned URLs: botocore presigns S3 with SigV2 otherwise, which S3 refuses for new buckets.
    config = CONFIG.merge(Config(signature_version='s3v4')) if service == 's3' else CONFIG
    return boto3_common.client(service, url, creds, config=config, verify=CA_FILE if url.startswith('https') else None)


def load():
    with open(STATE) as f:
        return json.load(f)


def save(state):
    with open(STATE, 'w') as f:
        json.dump(state, f, default=str)


def fetch(url):
    """The body of a plain GET of `url` (the server's CA trusted), or its HTTP status when refused."""
    try:
        with urllib.request.urlopen(url, context=ssl.create_default_context(cafile=CA_FILE)) as r:
            return r.read()
    except urllib.error.HTTPError as e:
        return e.code


def key_policy():
    # The account root administers (and so could delegate through IAM policies: trainer has none
    # for KMS); only the pipeline role may use the key, and only through S3 (kms:ViaService).
    return json.dumps({'Version': '2012-10-17', 'Statement': [
        {'Sid': 'admin', 'Effect': 'Allow', 'Principal': {'AWS': ROOT}, 'Action': 'kms:*', 'Resource': '*'},
        {'Sid': 'pipeline-via-s3', 'Effect': 'Allow', 'Principal': {'AWS': ROLE}, 'Action': ['kms:Decrypt', 'kms:GenerateDataKey'],
         'Resource': '*', 'Condition': {'StringEquals': {'kms:ViaService': 's3.us-east-1.amazonaws.com'}}},
    ]})


def lake_policy():
    return json.dumps({'Version': '2012-10-17', 'Statement': [
        {'Sid': 'sse-kms-only', 'Effect': 'Deny', 'Principal': '*', 'Action': 's3:PutObject', 'Resource': 'arn:aws:s3:::lake/*',
         'Condition': {'StringNotEquals': {'s3:x-amz-server-side-encryption': 'aws:kms'}}},
        {'Sid': 'tls-only', 'Effect': 'Deny', 'Principal': '*', 'Action': 's3:*', 'Resource': ['arn:aws:s3:::lake', 'arn:aws:s3:::lake/*'],
         'Condition': {'Bool': {'aws:SecureTransport': 'false'}}},
    ]})


def setup():
    kms, s3, iam = client('kms'), client('s3'), client('iam')
    state = {}
    for name in ['pii', 'models']:
        k = kms.create_key(Description=name, Policy=key_policy())['KeyMetadata']
        kms.create_alias(AliasName='alias/' + name, TargetKeyId=k['KeyId'])
        state[name + 'Key'] = k['Arn']
    s3.create_bucket(Bucket='lake')
    s3.put_bucket_encryption(Bucket='lake', ServerSideEncryptionConfiguration={'Rules': [
        {'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': 'alias/pii'}, 'BucketKeyEnabled': True}]})
    s3.put_bucket_policy(Bucket='lake', Policy=lake_policy())
    s3.create_bucket(Bucket='models')
    s3.put_bucket_encryption(Bucket='models', ServerSideEncryptionConfiguration={'Rules': [
        {'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': 'alias/models'}}]})

    iam.create_user(UserName='trainer')
    trust = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:user/trainer' % ACCOUNT}, 'Action': 'sts:AssumeRole'}]}
    iam.create_role(RoleName='pipeline', AssumeRolePolicyDocument=json.dumps(trust))
    work = {'Version': '2012-10-17', 'Statement': [
        {'Effect': 'Allow', 'Action': ['s3:GetObject', 's3:PutObject'], 'Resource': ['arn:aws:s3:::lake/*', 'arn:aws:s3:::models/*']},
        {'Effect': 'Allow', 'Action': 's3:ListBucket', 'Resource': 'arn:aws:s3:::lake'},
    ]}
    iam.put_role_policy(RoleName='pipeline', PolicyName='work', PolicyDocument=json.dumps(work))
    assume = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 'sts:AssumeRole', 'Resource': ROLE}]}
    iam.put_user_policy(UserName='trainer', PolicyName='assume-pipeline', PolicyDocument=json.dumps(assume))
    state['trainer'] = iam.create_access_key(UserName='trainer')['AccessKey']
    # analyst may read the lake's objects (IAM) but no key policy lets it use alias/pii.
    iam.create_user(UserName='analyst')
    read = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': 's3:GetObject', 'Resource': 'arn:aws:s3:::lake/*'}]}
    iam.put_user_policy(UserName='analyst', PolicyName='read-lake', PolicyDocument=json.dumps(read))
    state['analyst'] = iam.create_access_key(UserName='analyst')['AccessKey']
    # A ciphertext made directly under alias/pii, for the direct Decrypt the pipeline must not do.
    state['blob'] = kms.encrypt(KeyId='alias/pii', Plaintext=PII)['CiphertextBlob'].hex()
    # A data key the admin holds: its plaintext must appear in no audit file either.
    data_key = kms.generate_data_key(KeyId='alias/models', KeySpec='AES_256')['Plaintext'].hex()
    save(state)
    enc = s3.get_bucket_encryption(Bucket='lake')['ServerSideEncryptionConfiguration']['Rules'][0]
    return {'keys': state['piiKey'] != state['modelsKey'], 'dataKey': data_key,
            'lakeDefault': [enc['ApplyServerSideEncryptionByDefault']['SSEAlgorithm'], enc['ApplyServerSideEncryptionByDefault']['KMSMasterKeyID'], enc.get('BucketKeyEnabled')]}


def upload():
    """The admin uploads PII over HTTPS; the bucket default encrypts it with alias/pii."""
    state = load()
    s3 = client('s3')
    put = s3.put_object(Bucket='lake', Key='pii/customers-boto3.csv', Body=PII, ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/pii')
    head = s3.head_object(Bucket='lake', Key='pii/customers-boto3.csv')
    # aws:kms without a key id means the AWS managed key aws/s3, not the bucket default
    # (PutObject, x-amz-server-side-encryption-aws-kms-key-id): the lake's writers name alias/pii.
    bare = s3.put_object(Bucket='lake', Key='tmp/bare.csv', Body=b'not pii', ServerSideEncryption='aws:kms')
    s3.delete_object(Bucket='lake', Key='tmp/bare.csv')
    aws_s3 = client('kms').describe_key(KeyId='alias/aws/s3')['KeyMetadata']['Arn']
    plain = client('s3', endpoint=PLAIN)
    return {'put': [put['ServerSideEncryption'], put['SSEKMSKeyId'] == state['piiKey'], put.get('BucketKeyEnabled')],
            'head': [head['ServerSideEncryption'], head['SSEKMSKeyId'] == state['piiKey']],
            'bare': bare['SSEKMSKeyId'] == aws_s3,
            # The root is held to the bucket's deny too, as on S3.
            'plainRoot': boto3_common.failure(lambda: plain.get_object(Bucket='lake', Key='pii/customers-boto3.csv')),
            'plainRootConfig': boto3_common.failure(lambda: plain.get_bucket_encryption(Bucket='lake')),
            # ...save the bucket policy itself, which S3 never lets a bucket policy deny the owner's root.
            'plainRootPolicy': [json.loads(plain.get_bucket_policy(Bucket='lake')['Policy']) == json.loads(lake_policy()),
                                plain.put_bucket_policy(Bucket='lake', Policy=lake_policy())['ResponseMetadata']['HTTPStatusCode']]}


def pipeline():
    state = load()
    sts = client('sts', state['trainer'])
    assumed = sts.assume_role(RoleArn=ROLE, RoleSessionName='train-run-1')
    creds = assumed['Credentials']
    state['session'] = creds
    save(state)
    s3 = client('s3', creds)
    plain = client('s3', creds, PLAIN)
    kms = client('kms', creds)
    out = {'arn': assumed['AssumedRoleUser']['Arn'], 'caller': client('sts', creds).get_caller_identity()['Arn']}
    got = s3.get_object(Bucket='lake', Key='pii/customers.csv')
    out['readCli'] = [got['Body'].read() == PII, got['ServerSideEncryption'], got['SSEKMSKeyId'] == state['piiKey'], got.get('BucketKeyEnabled')]
    out['readBoto3'] = s3.get_object(Bucket='lake', Key='pii/customers-boto3.csv')['Body'].read() == PII
    out['list'] = sorted(o['Key'] for o in s3.list_objects_v2(Bucket='lake')['Contents'])
    out['readPlain'] = boto3_common.failure(lambda: plain.get_object(Bucket='lake', Key='pii/customers.csv'))
    # A presigned GET (the session's token in the URL), as a data loader gets it: over HTTPS only.
    out['presigned'] = [fetch(s3.generate_presigned_url('get_object', Params={'Bucket': 'lake', 'Key': 'pii/customers.csv'}, ExpiresIn=300)) == PII,
                        fetch(plain.generate_presigned_url('get_object', Params={'Bucket': 'lake', 'Key': 'pii/customers.csv'}, ExpiresIn=300))]
    put = s3.put_object(Bucket='models', Key='model-1.bin', Body=b'weights-1', ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/models')
    out['model'] = [put['ServerSideEncryption'], put['SSEKMSKeyId'] == state['modelsKey']]
    dflt = s3.put_object(Bucket='models', Key='model-2.bin', Body=b'weights-2')
    out['modelDefault'] = [dflt['ServerSideEncryption'], dflt['SSEKMSKeyId'] == state['modelsKey']]
    out['modelRead'] = s3.get_object(Bucket='models', Key='model-1.bin')['Body'].read().decode()
    # The policy tests the request header: the bucket default does not satisfy it (S3 documents this).
    out['lakeNoHeader'] = boto3_common.failure(lambda: s3.put_object(Bucket='lake', Key='features/x.csv', Body=b'derived'))
    with_header = s3.put_object(Bucket='lake', Key='features/y.csv', Body=b'derived', ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/pii')
    out['lakeWithHeader'] = [with_header['ServerSideEncryption'], with_header['SSEKMSKeyId'] == state['piiKey']]
    out['lakeSseS3'] = boto3_common.failure(lambda: s3.put_object(Bucket='lake', Key='features/z.csv', Body=b'derived', ServerSideEncryption='AES256'))
    # The key policy lets the role use alias/pii only via S3: a direct Decrypt is refused.
    out['directDecrypt'] = boto3_common.failure(lambda: kms.decrypt(CiphertextBlob=bytes.fromhex(state['blob'])))
    out['directDataKey'] = boto3_common.failure(lambda: kms.generate_data_key(KeyId='alias/pii', KeySpec='AES_256'))
    return out


def outsider():
    """trainer's own credentials, without the role: nothing of the lake or alias/pii."""
    state = load()
    t = state['trainer']
    s3, kms, plain = client('s3', t), client('kms', t), client('s3', t, PLAIN)
    return {
        'get': boto3_common.failure(lambda: s3.get_object(Bucket='lake', Key='pii/customers.csv')),
        'head': boto3_common.failure(lambda: s3.head_object(Bucket='lake', Key='pii/customers.csv')),
        'list': boto3_common.failure(lambda: s3.list_objects_v2(Bucket='lake')),
        'getPlain': boto3_common.failure(lambda: plain.get_object(Bucket='lake', Key='pii/customers.csv')),
        'decrypt': boto3_common.failure(lambda: kms.decrypt(CiphertextBlob=bytes.fromhex(state['blob']))),
        'dataKey': boto3_common.failure(lambda: kms.generate_data_key(KeyId='alias/pii', KeySpec='AES_256')),
        'encrypt': boto3_common.failure(lambda: kms.encrypt(KeyId='alias/pii', Plaintext=b'x')),
        'describe': boto3_common.failure(lambda: kms.describe_key(KeyId='alias/pii')),
        # Allowed s3:GetObject, but KMS refuses it the key: S3 answers 403 AccessDenied.
        'analyst': boto3_common.failure(lambda: client('s3', state['analyst']).get_object(Bucket='lake', Key='pii/customers.csv')),
    }


def revoke():
    """The admin takes the role's policy away: the live session loses the lake and the models at once."""
    state = load()
    s3 = client('s3', state['session'])
    before = s3.get_object(Bucket='lake', Key='pii/customers.csv')['Body'].read() == PII
    client('iam').delete_role_policy(RoleName='pipeline', PolicyName='work')
    return {'before': before, 'after': boto3_common.failure(lambda: s3.get_object(Bucket='lake', Key='pii/customers.csv')),
            'model': boto3_common.failure(lambda: s3.put_object(Bucket='models', Key='model-9.bin', Body=b'late', ServerSideEncryption='aws:kms', SSEKMSKeyId='alias/models'))}


def trail():
    # Every call on alias/pii's key, found by the key's ARN: also those naming it by alias, and
    # Decrypts naming no key (the blob names it), allowed or denied.
    events = []
    pages = client('cloudtrail').get_paginator('lookup_events').paginate(LookupAttributes=[{'AttributeKey': 'ResourceName', 'AttributeValue': load()['piiKey']}])
    for page in pages:
        events.extend(page['Events'])
    by_key = sorted({' '.join([e['EventName'], e.get('Username', ''), json.loads(e['CloudTrailEvent']).get('errorCode') or 'ok']) for e in events})
    return {'rows': rows_of('train-run-1'), 'analyst': rows_of('analyst'), 'byKey': by_key}


def rows_of(username):
    trail = client('cloudtrail')
    events = []
    for page in trail.get_paginator('lookup_events').paginate(LookupAttributes=[{'AttributeKey': 'Username', 'AttributeValue': username}]):
        events.extend(page['Events'])
    rows = []
    for e in events:
        r = json.loads(e['CloudTrailEvent'])
        ident = r.get('userIdentity', {})
        params = r.get('requestParameters') or {}
        rows.append({'name': e['EventName'], 'source': r['eventSource'], 'error': r.get('errorCode'), 'invokedBy': ident.get('invokedBy'),
                     # S3's bucket, or for a KMS call S3 made, the object or bucket (bucket key) of its context.
                     'arn': ident.get('arn'), 'bucket': params.get('bucketName') or (params.get('encryptionContext') or {}).get('aws:s3:arn'),
                     'ip': r.get('sourceIPAddress'), 'agent': 'boto3' if 'Boto3/' in (r.get('userAgent') or '') else r.get('userAgent')})
    return rows


SECTIONS = {'revoke': revoke, 'setup': setup, 'upload': upload, 'pipeline': pipeline, 'outsider': outsider, 'trail': trail}

if __name__ == '__main__':
    print(json.dumps(SECTIONS[sys.argv[1]](), default=str))
