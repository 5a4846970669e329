"""boto3 against Cipherlake's IAM policy operations, for policy-operations-boto3.test.ts:
ListRolePolicies/ListUserPolicies, UpdateAssumeRolePolicy, managed policy versions and ListPolicies.
`python3 policy-operations-boto3.py SECTION` prints one JSON object of observations. The endpoint and
the root's credentials come from the environment (ENDPOINT, AWS_*)."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
import boto3_common
from boto3_common import is_time, message as message_of, shape

ENDPOINT = os.environ['ENDPOINT']
ACCOUNT = '000000000000'


def client(service, creds=None):
    return boto3_common.client(service, ENDPOINT, creds)


iam, trail = client('iam'), client('cloudtrail')


def policy(action, resource='*', effect='Allow'):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': effect, 'Action': action, 'Resource': resource}]})


def trust(principal):
    return json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': principal}, 'Action': 'sts:AssumeRole'}]})


def user_with_key(name, allow=None):
    iam.create_user(UserName=name)
    if allow is not None:
        iam.put_user_policy(UserName=name, PolicyName='allow', PolicyDocument=policy(allow))
    return iam.create_access_key(UserName=name)['AccessKey']


def delete_role_the_boto3_way(name):
    """What boto3 users and Terraform do before DeleteRole: list and remove every policy, then delete."""
    for page in iam.get_paginator('list_attached_role_policies').paginate(RoleName=name):
        for p in page['AttachedPolicies']:
            iam.detach_role_policy(RoleName=name, PolicyArn=p['PolicyArn'])
    for page in iam.get_paginator('list_role_policies').paginate(RoleName=name):
        for n in page['PolicyNames']:
            iam.delete_role_policy(RoleName=name, PolicyName=n)
    iam.delete_role(RoleName=name)


def roles():
    out = {}
    role = iam.create_role(RoleName='ops-role', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT))['Role']
    for n in ['c-read', 'a-write', 'b-list']:
        iam.put_role_policy(RoleName='ops-role', PolicyName=n, PolicyDocument=policy('s3:GetObject'))
    arns = [iam.create_policy(PolicyName='ops-managed-%d' % i, PolicyDocument=policy('kms:Encrypt'))['Policy']['Arn'] for i in range(3)]
    for a in arns:
        iam.attach_role_policy(RoleName='ops-role', PolicyArn=a)
    out['names'] = iam.list_role_policies(RoleName='ops-role')['PolicyNames']
    first = iam.list_role_policies(RoleName='ops-role', MaxItems=2)
    second = iam.list_role_policies(RoleName='ops-role', Marker=first['Marker'])
    out['paged'] = [first['PolicyNames'], first['IsTruncated'], second['PolicyNames'], second['IsTruncated']]
    out['conflict'] = shape(lambda: iam.delete_role(RoleName='ops-role'))
    delete_role_the_boto3_way('ops-role')
    out['deleted'] = [shape(lambda: iam.get_role(RoleName='ops-role')), shape(lambda: iam.list_role_policies(RoleName='ops-role')),
                      [iam.get_policy(PolicyArn=a)['Policy']['AttachmentCount'] for a in arns]]

    iam.create_user(UserName='ops-user')
    iam.put_user_policy(UserName='ops-user', PolicyName='mine', PolicyDocument=policy('s3:GetObject'))
    out['user'] = [iam.list_user_policies(UserName='ops-user')['PolicyNames'], shape(lambda: iam.list_user_policies(UserName='nobody'))]

    # UpdateAssumeRolePolicy: GetRole answers the new trust policy, and AssumeRole follows it.
    k = user_with_key('ops-assumer', 'sts:AssumeRole')
    target = iam.create_role(RoleName='ops-target', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:user/nobody' % ACCOUNT))['Role']
    assumer = client('sts', k)
    before = shape(lambda: assumer.assume_role(RoleArn=target['Arn'], RoleSessionName='s1'))
    new_trust = trust('arn:aws:iam::%s:user/ops-assumer' % ACCOUNT)
    iam.update_assume_role_policy(RoleName='ops-target', PolicyDocument=new_trust)
    after = assumer.assume_role(RoleArn=target['Arn'], RoleSessionName='s2')['AssumedRoleUser']['Arn']
    out['trust'] = {'before': before, 'after': after, 'get': iam.get_role(RoleName='ops-target')['Role']['AssumeRolePolicyDocument'] == json.loads(new_trust),
                    'malformed': shape(lambda: iam.update_assume_role_policy(RoleName='ops-target', PolicyDocument='{"Version":')),
                    # An identity policy (Resource, no Principal) is not a trust policy.
                    'notTrust': shape(lambda: iam.update_assume_role_policy(RoleName='ops-target', PolicyDocument=policy('sts:AssumeRole'))),
                    'kept': iam.get_role(RoleName='ops-target')['Role']['AssumeRolePolicyDocument'] == json.loads(new_trust),
                    'noRole': shape(lambda: iam.update_assume_role_policy(RoleName='nope', PolicyDocument=new_trust)),
                    'denied': shape(lambda: client('iam', k).update_assume_role_policy(RoleName='ops-target', PolicyDocument=new_trust))}
    # iam:UpdateAssumeRolePolicy is authorized on the role's ARN: allowed on ops-target only, it updates that role and no other.
    iam.create_role(RoleName='ops-other', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:user/nobody' % ACCOUNT))
    admin = client('iam', user_with_key('ops-trust-admin', None))
    iam.put_user_policy(UserName='ops-trust-admin', PolicyName='one-role', PolicyDocument=policy('iam:UpdateAssumeRolePolicy', target['Arn']))
    out['trust']['scoped'] = [shape(lambda: admin.update_assume_role_policy(RoleName='ops-target', PolicyDocument=new_trust)),
                              shape(lambda: admin.update_assume_role_policy(RoleName='ops-other', PolicyDocument=new_trust)),
                              iam.get_role(RoleName='ops-other')['Role']['AssumeRolePolicyDocument'] == json.loads(trust('arn:aws:iam::%s:user/nobody' % ACCOUNT))]
    return out


def versions():
    out = {}
    arn = iam.create_policy(PolicyName='ops-versioned', PolicyDocument=policy('iam:ListUsers'))['Policy']['Arn']
    k = user_with_key('ops-versions-user')
    iam.attach_user_policy(UserName='ops-versions-user', PolicyArn=arn)
    user = client('iam', k)
    allowed = lambda: shape(lambda: user.list_users())
    out['v1'] = allowed()
    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:ListRoles'))['PolicyVersion']
    out['created'] = [v2['VersionId'], v2['IsDefaultVersion'], is_time(v2['CreateDate']), 'Document' in v2]
    out['nonDefault'] = allowed()
    iam.set_default_policy_version(PolicyArn=arn, VersionId='v2')
    out['setDefault'] = [allowed(), iam.get_policy(PolicyArn=arn)['Policy']['DefaultVersionId'], shape(lambda: user.list_roles())]
    got = iam.get_policy_version(PolicyArn=arn, VersionId='v1')['PolicyVersion']
    out['get'] = [got['VersionId'], got['IsDefaultVersion'], got['Document'] == json.loads(policy('iam:ListUsers'))]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:ListUsers'), SetAsDefault=True)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:GetUser'))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:GetRole'))
    listed = iam.list_policy_versions(PolicyArn=arn)
    out['listed'] = [[(v['VersionId'], v['IsDefaultVersion']) for v in listed['Versions']], listed['IsTruncated'], any('Document' in v for v in listed['Versions']), allowed()]
    out['sixth'] = shape(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:GetUser')))
    out['pages'] = [[v['VersionId'] for v in page['Versions']] for page in iam.get_paginator('list_policy_versions').paginate(PolicyArn=arn, PaginationConfig={'PageSize': 2})]
    out['deleteDefault'] = shape(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId='v3'))
    iam.delete_policy_version(PolicyArn=arn, VersionId='v5')
    out['notReused'] = iam.create_policy_version(PolicyArn=arn, PolicyDocument=policy('iam:GetUser'))['PolicyVersion']['VersionId']
    out['errors'] = {'noVersion': shape(lambda: iam.get_policy_version(PolicyArn=arn, VersionId='v5')),
                     'badVersion': shape(lambda: iam.get_policy_version(PolicyArn=arn, VersionId='1')),
                     'setMissing': shape(lambda: iam.set_default_policy_version(PolicyArn=arn, VersionId='v9')),
                     'deleteMissing': shape(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId='v9')),
                     'noPolicy': shape(lambda: iam.list_policy_versions(PolicyArn='arn:aws:iam::%s:policy/nope' % ACCOUNT)),
                     'malformed': shape(lambda: iam.create_policy_version(PolicyArn='arn:aws:iam::%s:policy/ops-versioned' % ACCOUNT, PolicyDocument='{')),
                     'denied': shape(lambda: user.create_policy_version(PolicyArn=arn, PolicyDocument=policy('*'))),
                     # Not a policy ARN (the doubled prefix of aws-samples/aws-cdk-examples#287, a user's ARN, another service's).
                     'badArn': [shape(lambda: iam.get_policy(PolicyArn='arn:aws:iam::aws:policy/arn:aws:iam::aws:policy/AmazonDynamoDBFullAccess')),
                                shape(lambda: iam.list_policy_versions(PolicyArn='arn:aws:iam::%s:user/ops-versions-user' % ACCOUNT)),
                                shape(lambda: iam.delete_policy(PolicyArn='arn:aws:s3:::bucket/policy/ops-versioned')),
                                shape(lambda: iam.set_default_policy_version(PolicyArn=arn + ' ', VersionId='v1'))],
                     'badArnMessage': message_of(lambda: iam.get_policy_version(PolicyArn='arn:aws:iam::%s:policy/a:b' % ACCOUNT, VersionId='v1'))}
    iam.detach_user_policy(UserName='ops-versions-user', PolicyArn=arn)
    out['deletePolicy'] = shape(lambda: iam.delete_policy(PolicyArn=arn))
    for v in iam.list_policy_versions(PolicyArn=arn)['Versions']:
        if not v['IsDefaultVersion']:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v['VersionId'])
    iam.delete_policy(PolicyArn=arn)
    out['gone'] = shape(lambda: iam.get_policy(PolicyArn=arn))
    recorded = trail.lookup_events(LookupAttributes=[{'AttributeKey': 'ResourceName', 'AttributeValue': arn}])['Events']
    out['audited'] = sorted({e['EventName'] for e in recorded} & {'CreatePolicyVersion', 'SetDefaultPolicyVersion', 'DeletePolicyVersion', 'GetPolicyVersion', 'ListPolicyVersions'})
    made = [json.loads(e['CloudTrailEvent']) for e in recorded if e['EventName'] == 'CreatePolicyVersion' and 'errorCode' not in json.loads(e['CloudTrailEvent'])]
    out['recorded'] = sorted(([r['requestParameters'].get('setAsDefault'), r['requestParameters'].get('policyArn') == arn, (r.get('responseElements') or {}).get('policyVersion', {}).get('versionId')]
                             for r in made), key=lambda x: str(x[2]))
    return out


def list_policies():
    out = {}
    made = {}
    for name, path in [('lp-a', '/'), ('lp-b', '/team/'), ('lp-c', '/team/ml/'), ('lp-d', '/other/')]:
        made[name] = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=policy('s3:GetObject'), Description='not listed')['Policy']['Arn']
    iam.create_user(UserName='lp-user')
    iam.attach_user_policy(UserName='lp-user', PolicyArn=made['lp-c'])
    names = lambda **kw: sorted(p['PolicyName'] for p in iam.list_policies(**kw)['Policies'] if p['PolicyName'].startswith('lp-'))
    out['all'] = names()
    out['local'] = names(Scope='Local')
    out['aws'] = iam.list_policies(Scope='AWS')['Policies']
    out['attached'] = names(OnlyAttached=True)
    out['prefix'] = names(PathPrefix='/team/')
    out['boundary'] = iam.list_policies(PolicyUsageFilter='PermissionsBoundary')['Policies']
    # Boundaries are not implemented: setting one is refused, and nothing is created without the limit asked for.
    out['boundarySet'] = [shape(lambda: iam.create_user(UserName='lp-bounded', PermissionsBoundary=made['lp-a'])), shape(lambda: iam.get_user(UserName='lp-bounded')),
                          shape(lambda: iam.create_role(RoleName='lp-bounded', AssumeRolePolicyDocument=trust('arn:aws:iam::%s:root' % ACCOUNT), PermissionsBoundary=made['lp-a'])),
                          shape(lambda: iam.get_role(RoleName='lp-bounded'))]
    out['permissions'] = names(PolicyUsageFilter='PermissionsPolicy')
    c = next(p for p in iam.list_policies(PathPrefix='/team/ml/')['Policies'])
    out['shape'] = {'arn': c['Arn'] == made['lp-c'], 'version': c['DefaultVersionId'], 'count': c['AttachmentCount'], 'boundaryCount': c['PermissionsBoundaryUsageCount'],
                    'attachable': c['IsAttachable'], 'description': 'Description' in c, 'dates': is_time(c['CreateDate']) and is_time(c['UpdateDate'])}
    pages = list(iam.get_paginator('list_policies').paginate(Scope='Local', PaginationConfig={'PageSize': 2}))
    seen = [p['PolicyName'] for page in pages for p in page['Policies']]
    out['pages'] = [len(pages) >= 2, all(len(page['Policies']) <= 2 for page in pages), len(seen) == len(set(seen)), sorted(n for n in seen if n.startswith('lp-'))]
    k = user_with_key('lp-lister', 'iam:ListPolicies')
    # IAM evaluates ListPolicies on the account's policy path ('on resource: policy path /', aws/aws-sam-cli#394): Resource "*" and
    # an account-wide ARN pattern (ministryofjustice/analytics-platform-ops#130) both allow it, another kind's ARN does not.
    by_arn = client('iam', user_with_key('lp-arn-lister', None))
    iam.put_user_policy(UserName='lp-arn-lister', PolicyName='allow', PolicyDocument=policy('iam:ListPolicies', 'arn:aws:iam::%s:*' % ACCOUNT))
    by_user = client('iam', user_with_key('lp-user-lister', None))
    iam.put_user_policy(UserName='lp-user-lister', PolicyName='allow', PolicyDocument=policy('iam:ListPolicies', 'arn:aws:iam::%s:user/*' % ACCOUNT))
    out['authz'] = [len(client('iam', k).list_policies()['Policies']) >= 4, shape(lambda: client('iam', user_with_key('lp-nobody')).list_policies()),
                    len(by_arn.list_policies()['Policies']) >= 4, shape(lambda: by_user.list_policies())]
    out['invalid'] = {'policies': shape(lambda: iam.list_policies(PathPrefix='team/')),
                      'policiesChars': shape(lambda: iam.list_policies(PathPrefix='/te am/')),
                      'scope': shape(lambda: iam.list_policies(Scope='Mine')),
                      'users': shape(lambda: iam.list_users(PathPrefix='team')),
                      'roles': shape(lambda: iam.list_roles(PathPrefix='/' + 'a' * 512)),
                      'createPath': shape(lambda: iam.create_policy(PolicyName='lp-bad', Path='/a*b/', PolicyDocument=policy('s3:GetObject'))),
                      'usersOk': [u['UserName'] for u in iam.list_users(PathPrefix='/')['Users'] if u['UserName'] == 'lp-user']}
    return out


SECTIONS = {'roles': roles, 'versions': versions, 'list-policies': list_policies}

print(json.dumps(SECTIONS[sys.argv[1]]()))
