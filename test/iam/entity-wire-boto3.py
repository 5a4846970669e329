"""boto3 against Cipherlake's IAM entity answers, for entity-wire-boto3.test.ts: Attach/Detach User and
Role policies with a malformed PolicyArn, ListAttached… PathPrefix, and user and role tags.
`python3 entity-wire-boto3.py SECTION` prints one JSON object of observations. The endpoint and the
root's credentials come from the environment (ENDPOINT, AWS_*)."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
import boto3_common
from botocore.exceptions import ClientError
from boto3_common import shape

ENDPOINT = os.environ['ENDPOINT']
ACCOUNT = '000000000000'
TRUST = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::%s:root' % ACCOUNT}, 'Action': 'sts:AssumeRole'}]})


def client(service, creds=None):
    return boto3_common.client(service, ENDPOINT, creds)


iam = client('iam')


def policy(action, resource='*', condition=None):
    statement = {'Effect': 'Allow', 'Action': action, 'Resource': resource}
    if condition is not None:
        statement['Condition'] = condition
    return json.dumps({'Version': '2012-10-17', 'Statement': [statement]})


def message_of(fn):
    try:
        fn()
        return 'no error'
    except ClientError as e:
        return e.response['Error'].get('Message')


def attach():
    out = {}
    iam.create_user(UserName='wire-user')
    iam.create_role(RoleName='wire-role', AssumeRolePolicyDocument=TRUST)
    arn = iam.create_policy(PolicyName='wire-managed', PolicyDocument=policy('s3:GetObject'))['Policy']['Arn']
    # Not a policy ARN: a user's ARN, another service's, a doubled prefix (aws-samples/aws-cdk-examples#287).
    bad = ['arn:aws:iam::%s:user/wire-user' % ACCOUNT, 'arn:aws:s3:::bucket/policy/wire-managed', 'arn:aws:iam::aws:policy/arn:aws:iam::aws:policy/ReadOnlyAccess']
    out['attach'] = [shape(lambda b=b: iam.attach_user_policy(UserName='wire-user', PolicyArn=b)) for b in bad] + \
                    [shape(lambda b=b: iam.attach_role_policy(RoleName='wire-role', PolicyArn=b)) for b in bad]
    out['detach'] = [shape(lambda b=b: iam.detach_user_policy(UserName='wire-user', PolicyArn=b)) for b in bad] + \
                    [shape(lambda b=b: iam.detach_role_policy(RoleName='wire-role', PolicyArn=b)) for b in bad]
    out['message'] = message_of(lambda: iam.detach_role_policy(RoleName='wire-role', PolicyArn=bad[0]))
    out['attached'] = [iam.list_attached_user_policies(UserName='wire-user')['AttachedPolicies'], iam.list_attached_role_policies(RoleName='wire-role')['AttachedPolicies']]
    # A well-formed ARN still works, and detaching one not attached is still NoSuchEntity.
    iam.attach_user_policy(UserName='wire-user', PolicyArn=arn)
    iam.detach_user_policy(UserName='wire-user', PolicyArn=arn)
    out['wellFormed'] = [shape(lambda: iam.detach_user_policy(UserName='wire-user', PolicyArn=arn)),
                         shape(lambda: iam.attach_user_policy(UserName='wire-user', PolicyArn='arn:aws:iam::%s:policy/nope' % ACCOUNT))]
    return out


def paths():
    out = {}
    iam.create_user(UserName='path-user')
    iam.create_role(RoleName='path-role', AssumeRolePolicyDocument=TRUST)
    made = {}
    for name, path in [('path-a', '/team/ml/'), ('path-b', '/team/'), ('path-c', '/')]:
        made[name] = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=policy('s3:GetObject'))['Policy']['Arn']
        iam.attach_user_policy(UserName='path-user', PolicyArn=made[name])
        iam.attach_role_policy(RoleName='path-role', PolicyArn=made[name])
    names = lambda r: sorted(p['PolicyName'] for p in r['AttachedPolicies'])
    out['filtered'] = [names(iam.list_attached_user_policies(UserName='path-user', PathPrefix='/team/')),
                       names(iam.list_attached_role_policies(RoleName='path-role', PathPrefix='/team/ml/')),
                       names(iam.list_attached_user_policies(UserName='path-user', PathPrefix='/')),
                       names(iam.list_attached_role_policies(RoleName='path-role'))]
    # policyPathType: a user's path may hold printable ASCII, a policy path prefix may not; no trailing `/` is not one either.
    bad = ['/team#/', 'team/', '/team']
    out['invalid'] = [shape(lambda b=b: iam.list_attached_user_policies(UserName='path-user', PathPrefix=b)) for b in bad] + \
                     [shape(lambda b=b: iam.list_attached_role_policies(RoleName='path-role', PathPrefix=b)) for b in bad]
    out['message'] = message_of(lambda: iam.list_attached_role_policies(RoleName='path-role', PathPrefix='/team#/'))
    return out


if __name__ == '__main__':
    print(json.dumps({'attach': attach, 'paths': paths}[sys.argv[1]](), default=str))
