"""boto3 against Cipherlake's IAM, STS and CloudTrail front ends, for clients-boto3.test.ts.
`python3 clients-boto3.py SECTION` drives one group of operations and prints one JSON object of
observations for the test to assert on. Everything else comes from the environment (ENDPOINT,
AWS_* credentials: the server's root)."""
import datetime, json, os, re, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
import boto3_common
from botocore.exceptions import ClientError
from boto3_common import is_time, shape

ENDPOINT = os.environ['ENDPOINT']
ACCOUNT = '000000000000'


def client(service, creds=None):
    return boto3_common.client(service, ENDPOINT, creds)


iam, sts, kms, s3, trail = (client(s) for s in ['iam', 'sts', 'kms', 's3', 'cloudtrail'])


def policy(action, resource='*', effect='Allow'):
    return {'Version': '2012-10-17', 'Statement': [{'Effect': effect, 'Action': action, 'Resource': resource}]}


def trust(principal):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': principal}, 'Action': 'sts:AssumeRole'}]})


def user_with_key(name, allow=None):
    iam.create_user(UserName=name)
    if allow is not None:
        iam.put_user_policy(UserName=name, PolicyName='allow', PolicyDocument=json.dumps(policy(allow)))
    return iam.create_access_key(UserName=name)['AccessKey']


def users():
    out = {}
    u = iam.create_user(UserName='boto3-alice', Path='/ml/')['User']
    out['create'] = {'name': u['UserName'], 'path': u['Path'], 'arn': u['Arn'], 'id': bool(re.match(r'^AIDA[A-Z2-7]{17}$', u['UserId'])), 'created': is_time(u['CreateDate'])}
    g = iam.get_user(UserName='boto3-alice')['User']
    out['get'] = [g['UserId'] == u['UserId'], g['Arn']]
    out['root'] = [iam.get_user()['User']['Arn'], sts.get_caller_identity()['Arn']]
    iam.create_user(UserName='boto3-bob')
    out['byPath'] = [x['UserName'] for x in iam.list_users(PathPrefix='/ml/')['Users']]
    out['all'] = sorted(x['UserName'] for x in iam.list_users()['Users'])

    k = iam.create_access_key(UserName='boto3-alice')['AccessKey']
    out['key'] = {'id': bool(re.match(r'^AKIA[A-Z2-7]{16}$', k['AccessKeyId'])), 'secret': len(k['SecretAccessKey']) >= 40, 'status': k['Status'],
                  'user': k['UserName'], 'created': is_time(k['CreateDate'])}
    listed = iam.list_access_keys(UserName='boto3-alice')
    out['listKeys'] = [[(x['AccessKeyId'] == k['AccessKeyId'], x['Status'], x['UserName']) for x in listed['AccessKeyMetadata']], listed['IsTruncated']]
    doc = policy(['iam:GetUser', 'iam:ListAccessKeys', 'iam:CreateAccessKey'], 'arn:aws:iam::%s:user/ml/boto3-alice' % ACCOUNT)
    iam.put_user_policy(UserName='boto3-alice', PolicyName='self', PolicyDocument=json.dumps(doc))
    got = iam.get_user_policy(UserName='boto3-alice', PolicyName='self')
    out['inline'] = [got['UserName'], got['PolicyName'], got['PolicyDocument'] == doc]

    alice = client('iam', k)
    out['self'] = {'getUser': alice.get_user()['User']['UserName'], 'keys': [x['AccessKeyId'] == k['AccessKeyId'] for x in alice.list_access_keys()['AccessKeyMetadata']]}
    me = client('sts', k).get_caller_identity()
    out['identity'] = [me['Arn'], me['Account'], me['UserId'] == u['UserId']]
    # A policy naming the pathless ARN (user/boto3-alice) does not name alice, whose ARN has her path.
    bob_key = iam.create_access_key(UserName='boto3-bob')['AccessKey']
    iam.put_user_policy(UserName='boto3-bob', PolicyName='pathless', PolicyDocument=json.dumps(policy('iam:GetUser', 'arn:aws:iam::%s:user/boto3-alice' % ACCOUNT)))
    out['pathless'] = shape(lambda: client('iam', bob_key).get_user(UserName='boto3-alice'))

    iam.update_access_key(UserName='boto3-alice', AccessKeyId=k['AccessKeyId'], Status='Inactive')
    out['inactive'] = [iam.list_access_keys(UserName='boto3-alice')['AccessKeyMetadata'][0]['Status'], shape(lambda: client('sts', k).get_caller_identity())]
    out['conflict'] = shape(lambda: iam.delete_user(UserName='boto3-alice'))
    iam.delete_access_key(UserName='boto3-alice', AccessKeyId=k['AccessKeyId'])
    iam.delete_user_policy(UserName='boto3-alice', PolicyName='self')
    iam.delete_user(UserName='boto3-alice')
    out['deleted'] = [shape(lambda: iam.get_user(UserName='boto3-alice')), sorted(x['UserName'] for x in iam.list_users()['Users'])]
    return out


def roles_policies():
    out = {}
    doc = trust('arn:aws:iam::%s:root' % ACCOUNT)
    r = iam.create_role(RoleName='boto3-trainer', Path='/ml/', AssumeRolePolicyDocument=doc, Description='trains models', MaxSessionDuration=7200)['Role']
    out['create'] = {'name': r['RoleName'], 'path': r['Path'], 'arn': r['Arn'], 'id': bool(re.match(r'^AROA[A-Z2-7]{17}$', r['RoleId'])),
                     'trust': r['AssumeRolePolicyDocument'] == json.loads(doc), 'description': r['Description'], 'max': r['MaxSessionDuration'], 'created': is_time(r['CreateDate'])}
    g = iam.get_role(RoleName='boto3-trainer')['Role']
    out['get'] = [g['RoleId'] == r['RoleId'], g['AssumeRolePolicyDocument'] == json.loads(doc), g['Description']]

    managed = policy(['kms:Encrypt', 'kms:Decrypt'])
    p = iam.create_policy(PolicyName='boto3-kms', Path='/ml/', PolicyDocument=json.dumps(managed), Description='encrypt and decrypt')['Policy']
    out['policy'] = {'arn': p['Arn'], 'id': bool(re.match(r'^ANPA[A-Z2-7]{17}$', p['PolicyId'])), 'version': p['DefaultVersionId'], 'attachable': p['IsAttachable'],
                     'count': p['AttachmentCount'], 'created': is_time(p['CreateDate'])}
    iam.create_user(UserName='boto3-carol')
    iam.attach_user_policy(UserName='boto3-carol', PolicyArn=p['Arn'])
    iam.attach_role_policy(RoleName='boto3-trainer', PolicyArn=p['Arn'])
    got = iam.get_policy(PolicyArn=p['Arn'])['Policy']
    out['attached'] = {'count': got['AttachmentCount'], 'description': got['Description'],
                       'user': [(x['PolicyName'], x['PolicyArn'] == p['Arn']) for x in iam.list_attached_user_policies(UserName='boto3-carol')['AttachedPolicies']],
                       'role': [(x['PolicyName'], x['PolicyArn'] == p['Arn']) for x in iam.list_attached_role_policies(RoleName='boto3-trainer')['AttachedPolicies']],
                       'deletePolicy': shape(lambda: iam.delete_policy(PolicyArn=p['Arn']))}
    inline = policy('s3:GetObject', 'arn:aws:s3:::boto3-data/*')
    iam.put_role_policy(RoleName='boto3-trainer', PolicyName='read', PolicyDocument=json.dumps(inline))
    rp = iam.get_role_policy(RoleName='boto3-trainer', PolicyName='read')
    out['rolePolicy'] = [rp['RoleName'], rp['PolicyName'], rp['PolicyDocument'] == inline, shape(lambda: iam.delete_role(RoleName='boto3-trainer'))]

    iam.detach_user_policy(UserName='boto3-carol', PolicyArn=p['Arn'])
    iam.detach_role_policy(RoleName='boto3-trainer', PolicyArn=p['Arn'])
    iam.delete_role_policy(RoleName='boto3-trainer', PolicyName='read')
    out['detached'] = [iam.list_attached_user_policies(UserName='boto3-carol')['AttachedPolicies'], iam.list_attached_role_policies(RoleName='boto3-trainer')['AttachedPolicies'],
                       iam.get_policy(PolicyArn=p['Arn'])['Policy']['AttachmentCount']]
    iam.delete_policy(PolicyArn=p['Arn'])
    iam.delete_role(RoleName='boto3-trainer')
    iam.delete_user(UserName='boto3-carol')
    out['deleted'] = [shape(lambda: iam.get_policy(PolicyArn=p['Arn'])), shape(lambda: iam.get_role(RoleName='boto3-trainer')),
                      shape(lambda: iam.get_role_policy(RoleName='boto3-trainer', PolicyName='read'))]
    return out


def assume_role():
    out = {}
    k = user_with_key('boto3-dave', 'sts:AssumeRole')
    data_key = kms.create_key(Description='boto3 role data')['KeyMetadata']
    s3.create_bucket(Bucket='boto3-role-data')
    role = iam.create_role(RoleName='boto3-worker', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:user/boto3-dave' % ACCOUNT))['Role']
    iam.put_role_policy(RoleName='boto3-worker', PolicyName='data', PolicyDocument=json.dumps(
        {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], 'Resource': data_key['Arn']},
                                                {'Effect': 'Allow', 'Action': ['s3:PutObject', 's3:GetObject'], 'Resource': 'arn:aws:s3:::boto3-role-data/*'}]}))
    dave = client('sts', k)
    got = dave.assume_role(RoleArn=role['Arn'], RoleSessionName='nightly-train', DurationSeconds=900)
    c = got['Credentials']
    left = (c['Expiration'] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    out['assume'] = {'key': c['AccessKeyId'].startswith('ASIA'), 'secret': len(c['SecretAccessKey']) >= 40, 'token': len(c['SessionToken']) > 0,
                     'expires': is_time(c['Expiration']) and 800 < left <= 960, 'arn': got['AssumedRoleUser']['Arn'],
                     'roleId': got['AssumedRoleUser']['AssumedRoleId'] == role['RoleId'] + ':nightly-train'}
    me = client('sts', c).get_caller_identity()
    out['identity'] = [me['Arn'], me['Account'], me['UserId']  == role['RoleId'] + ':nightly-train']

    role_kms, role_s3 = client('kms', c), client('s3', c)
    blob = role_kms.encrypt(KeyId=data_key['KeyId'], Plaintext=b'weights', EncryptionContext={'run': '7'})['CiphertextBlob']
    role_s3.put_object(Bucket='boto3-role-data', Key='model.bin', Body=b'model bytes', ServerSideEncryption='aws:kms', SSEKMSKeyId=data_key['Arn'])
    head = s3.head_object(Bucket='boto3-role-data', Key='model.bin')
    out['used'] = {'decrypt': role_kms.decrypt(CiphertextBlob=blob, EncryptionContext={'run': '7'})['Plaintext'].decode(),
                   'get': role_s3.get_object(Bucket='boto3-role-data', Key='model.bin')['Body'].read().decode(),
                   'sse': [head['ServerSideEncryption'], head['SSEKMSKeyId'] == data_key['Arn']],
                   'otherKey': shape(lambda: role_kms.encrypt(KeyId=kms.create_key()['KeyMetadata']['KeyId'], Plaintext=b'x')),
                   'iam': shape(lambda: client('iam', c).list_users()),
                   'listBucket': shape(lambda: role_s3.list_objects_v2(Bucket='boto3-role-data'))}
    bare = {'AccessKeyId': c['AccessKeyId'], 'SecretAccessKey': c['SecretAccessKey']}
    forged = dict(c, SessionToken=c['SessionToken'][:-4] + ('AAAA' if not c['SessionToken'].endswith('AAAA') else 'BBBB'))
    out['refused'] = {'noToken': shape(lambda: client('sts', bare).get_caller_identity()),
                      'forgedToken': shape(lambda: client('kms', forged).encrypt(KeyId=data_key['KeyId'], Plaintext=b'x')),
                      'notTrusted': shape(lambda: client('sts', user_with_key('boto3-eve', 'sts:AssumeRole')).assume_role(RoleArn=role['Arn'], RoleSessionName='xx')),
                      'root': shape(lambda: sts.assume_role(RoleArn=role['Arn'], RoleSessionName='xx')),
                      'missingRole': shape(lambda: dave.assume_role(RoleArn='arn:aws:iam::%s:role/nope' % ACCOUNT, RoleSessionName='xx')),
                      'tooLong': shape(lambda: dave.assume_role(RoleArn=role['Arn'], RoleSessionName='xx', DurationSeconds=7200)),
                      'badSession': shape(lambda: dave.assume_role(RoleArn=role['Arn'], RoleSessionName='a b'))}

    # A trust policy naming the account delegates to identity policies: a user with none is refused,
    # dave (sts:AssumeRole on *) may; the root never assumes a role. One naming the worker role lets
    # its sessions assume it with no identity policy (role chaining).
    account_role = iam.create_role(RoleName='boto3-account-trust', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT))['Role']
    chained = iam.create_role(RoleName='boto3-chained', AssumeRolePolicyDocument=trust(role['Arn']))['Role']
    nobody = client('sts', user_with_key('boto3-nopolicy'))
    try:
        sts.assume_role(RoleArn=account_role['Arn'], RoleSessionName='root-session')
        root_refused = 'no error'
    except ClientError as e:
        root_refused = [e.response['Error']['Code'], e.response['Error']['Message']]
    out['trust'] = {'accountNoPolicy': shape(lambda: nobody.assume_role(RoleArn=account_role['Arn'], RoleSessionName='xx')),
                    'accountWithPolicy': dave.assume_role(RoleArn=account_role['Arn'], RoleSessionName='by-dave')['AssumedRoleUser']['Arn'],
                    'root': root_refused,
                    'chained': client('sts', c).assume_role(RoleArn=chained['Arn'], RoleSessionName='chain')['AssumedRoleUser']['Arn'],
                    'chainedByDave': shape(lambda: dave.assume_role(RoleArn=chained['Arn'], RoleSessionName='xx'))}
    return out


def trail_pages(**kw):
    got = list(trail.get_paginator('lookup_events').paginate(PaginationConfig={'PageSize': 2}, **kw))
    return [len(got), [e for page in got for e in page['Events']]]


def lookup_events():
    out = {}
    k = user_with_key('boto3-frank', ['kms:*', 's3:*'])
    frank_kms = client('kms', k)
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    key_id = frank_kms.create_key(Description='boto3 trail')['KeyMetadata']['KeyId']
    for i in range(3):
        frank_kms.encrypt(KeyId=key_id, Plaintext=b'secret %d' % i)
    client('s3', k).create_bucket(Bucket='boto3-trail')
    after = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=1)
    attr = lambda key, value: [{'AttributeKey': key, 'AttributeValue': value}]

    by_name = trail.lookup_events(LookupAttributes=attr('EventName', 'Encrypt'), StartTime=before, EndTime=after)['Events']
    e = by_name[0]
    record = json.loads(e['CloudTrailEvent'])
    out['byName'] = {'count': len([x for x in by_name if x.get('Username') == 'boto3-frank']), 'names': sorted({x['EventName'] for x in by_name}), 'source': e['EventSource'], 'readOnly': e['ReadOnly'],
                     'user': e['Username'], 'accessKey': e['AccessKeyId'] == k['AccessKeyId'], 'time': is_time(e['EventTime']),
                     'resources': [r['ResourceType'] for r in e['Resources']], 'recordUser': record['userIdentity']['arn'], 'noPlaintext': 'secret' not in e['CloudTrailEvent']}
    by_key = trail.lookup_events(LookupAttributes=attr('ResourceName', key_id))['Events']
    out['byResource'] = sorted({x['EventName'] for x in by_key})
    out['byBucket'] = sorted({x['EventName'] for x in trail.lookup_events(LookupAttributes=attr('ResourceName', 'boto3-trail'))['Events']})
    out['byUser'] = sorted({x['EventName'] for x in trail.lookup_events(LookupAttributes=attr('Username', 'boto3-frank'), StartTime=before, EndTime=after)['Events']})
    out['byAccessKey'] = sorted({x['EventName'] for x in trail.lookup_events(LookupAttributes=attr('AccessKeyId', k['AccessKeyId']))['Events']})
    out['bySource'] = sorted({x['EventSource'] for x in trail.lookup_events(LookupAttributes=attr('EventSource', 'kms.amazonaws.com'))['Events']})
    past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    out['window'] = {'past': trail.lookup_events(StartTime=past, EndTime=past + datetime.timedelta(days=1))['Events'],
                     'future': trail.lookup_events(StartTime=after + datetime.timedelta(days=1))['Events'],
                     'inside': len(trail.lookup_events(LookupAttributes=attr('Username', 'boto3-frank'), StartTime=before, EndTime=after)['Events']) >= 5}

    # An assumed role's events carry its session name as Username.
    iam.create_role(RoleName='boto3-auditor', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:user/boto3-frank' % ACCOUNT))
    iam.put_role_policy(RoleName='boto3-auditor', PolicyName='kms', PolicyDocument=json.dumps(policy('kms:DescribeKey')))
    c = client('sts', k).assume_role(RoleArn='arn:aws:iam::%s:role/boto3-auditor' % ACCOUNT, RoleSessionName='audit-session')['Credentials']
    client('kms', c).describe_key(KeyId=key_id)
    session = trail.lookup_events(LookupAttributes=attr('Username', 'audit-session'))['Events']
    out['session'] = [[x['EventName'] for x in session], json.loads(session[0]['CloudTrailEvent'])['userIdentity']['type'] if session else None]

    n, events = trail_pages(LookupAttributes=attr('EventName', 'Encrypt'))
    out['pages'] = [n == (len(events) + 1) // 2, len(events) >= 3, len({x['EventId'] for x in events}) == len(events)]
    n, events = trail_pages(LookupAttributes=attr('Username', 'boto3-frank'), StartTime=before, EndTime=after)
    out['filteredPages'] = [n >= 2, len({x['EventId'] for x in events}) == len(events)]

    out['errors'] = {'twoAttributes': shape(lambda: trail.lookup_events(LookupAttributes=attr('EventName', 'Encrypt') + attr('Username', 'x'))),
                     'badKey': shape(lambda: trail.lookup_events(LookupAttributes=attr('Bogus', 'x'))),
                     'timeRange': shape(lambda: trail.lookup_events(StartTime=after, EndTime=before)),
                     'maxResults': shape(lambda: trail.lookup_events(MaxResults=51)),
                     'nextToken': shape(lambda: trail.lookup_events(NextToken='not-a-token')),
                     'denied': shape(lambda: client('cloudtrail', user_with_key('boto3-gina', 'kms:*')).lookup_events(LookupAttributes=attr('Username', 'boto3-frank')))}
    # The refusal is itself recorded, with CloudTrail's error code; a user allowed the action may read.
    refused = trail.lookup_events(LookupAttributes=attr('Username', 'boto3-gina'))['Events']
    # Refused before the body is parsed: the record's requestParameters and responseElements are null (no lookup attributes, no events).
    out['deniedRecorded'] = [[r.get('errorCode'), r.get('requestParameters'), r.get('responseElements')]
                             for r in (json.loads(x['CloudTrailEvent']) for x in refused if x['EventName'] == 'LookupEvents')]
    out['allowed'] = len(client('cloudtrail', user_with_key('boto3-ivan', 'cloudtrail:LookupEvents')).lookup_events(MaxResults=3)['Events'])
    return out


def errors():
    k = user_with_key('boto3-hank', 'kms:*')
    hank = client('iam', k)
    iam.create_role(RoleName='boto3-conflict', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT))
    iam.put_role_policy(RoleName='boto3-conflict', PolicyName='p', PolicyDocument=json.dumps(policy('kms:*')))
    return {'noSuchUser': shape(lambda: iam.get_user(UserName='nobody')),
            'noSuchRole': shape(lambda: iam.get_role(RoleName='nobody')),
            'noSuchPolicy': shape(lambda: iam.get_policy(PolicyArn='arn:aws:iam::%s:policy/nope' % ACCOUNT)),
            'noSuchInline': shape(lambda: iam.delete_user_policy(UserName='boto3-hank', PolicyName='nope')),
            'noSuchKey': shape(lambda: iam.delete_access_key(UserName='boto3-hank', AccessKeyId='AKIAAAAAAAAAAAAAAAAA')),
            'exists': shape(lambda: iam.create_user(UserName='boto3-hank')),
            'roleConflict': shape(lambda: iam.delete_role(RoleName='boto3-conflict')),
            'malformed': shape(lambda: iam.put_user_policy(UserName='boto3-hank', PolicyName='bad', PolicyDocument='{"Statement":[{"Effect":"Maybe"}]}')),
            'badName': shape(lambda: iam.create_user(UserName='has space')),
            'badStatus': shape(lambda: iam.update_access_key(UserName='boto3-hank', AccessKeyId=k['AccessKeyId'], Status='Paused')),
            'denied': shape(lambda: hank.create_user(UserName='mallory')),
            'deniedList': shape(lambda: hank.list_users()),
            'unknownKey': shape(lambda: client('sts', {'AccessKeyId': 'AKIAUNKNOWNUNKNOWN00', 'SecretAccessKey': 'x'}).get_caller_identity()),
            'wrongSecret': shape(lambda: client('sts', dict(k, SecretAccessKey='not-the-secret')).get_caller_identity()),
            'identityAlways': client('sts', k).get_caller_identity()['Arn']}


def paging():
    for i in range(5):
        iam.create_user(UserName='boto3-page-%d' % i)
    got = list(iam.get_paginator('list_users').paginate(PaginationConfig={'PageSize': 2}))
    names = [u['UserName'] for page in got for u in page['Users']]
    mine = [n for n in names if n.startswith('boto3-page-')]
    first = iam.list_users(MaxItems=2)
    keys = sorted(iam.create_access_key(UserName='boto3-page-0')['AccessKey']['AccessKeyId'] for _ in range(2))
    key_pages = list(iam.get_paginator('list_access_keys').paginate(UserName='boto3-page-0', PaginationConfig={'PageSize': 1}))
    iam.create_role(RoleName='boto3-paged', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT))
    arns = [iam.create_policy(PolicyName='boto3-page-%d' % i, PolicyDocument=json.dumps(policy('kms:Encrypt')))['Policy']['Arn'] for i in range(3)]
    for arn in arns:
        iam.attach_role_policy(RoleName='boto3-paged', PolicyArn=arn)
    attached = list(iam.get_paginator('list_attached_role_policies').paginate(RoleName='boto3-paged', PaginationConfig={'PageSize': 2}))
    made = ['boto3-team-%d' % i for i in range(3)]
    for name in made:
        iam.create_role(RoleName=name, Path='/team/', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT), Description='paged')
    role_pages = list(iam.get_paginator('list_roles').paginate(PaginationConfig={'PageSize': 2}))
    roles = [r['RoleName'] for page in role_pages for r in page['Roles']]
    team = iam.list_roles(PathPrefix='/team/')['Roles']
    return {'users': [len(got) >= 3, mine == ['boto3-page-%d' % i for i in range(5)], len(names) == len(set(names))],
            'first': [len(first['Users']), first['IsTruncated'], bool(first.get('Marker'))],
            'accessKeys': [len(key_pages), sorted(k['AccessKeyId'] for page in key_pages for k in page['AccessKeyMetadata']) == keys],
            'attached': [len(attached), sorted(p['PolicyArn'] for page in attached for p in page['AttachedPolicies']) == sorted(arns)],
            'roles': [len(role_pages) >= 3, set(made) | {'boto3-paged'} <= set(roles), len(roles) == len(set(roles))],
            'team': [[r['RoleName'] for r in team], [r['Arn'] for r in team][0], team[0]['AssumeRolePolicyDocument']['Statement'][0]['Action'], team[0]['Description']],
            'badMarker': shape(lambda: iam.list_users(Marker='not-ours'))}


SECTIONS = {'users': users, 'roles-policies': roles_policies, 'assume-role': assume_role, 'lookup-events': lookup_events, 'errors': errors, 'paging': paging}
print(json.dumps(SECTIONS[sys.argv[1]]()))
