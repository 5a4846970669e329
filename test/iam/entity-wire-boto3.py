"""boto3 against Cipherlake's IAM entity answers, for entity-wire-boto3.test.ts: Attach/Detach User and
Role policies with a malformed PolicyArn, ListAttached… PathPrefix, and user and role tags.
`python3 entity-wire-boto3.py SECTION` prints one JSON object of observations. The endpoint and the
root's credentials come from the environment (ENDPOINT, AWS_*)."""
import json, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
import boto3_common
from boto3_common import message as message_of, shape

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


def tagged(tags):
    return [[t['Key'], t['Value']] for t in tags]


def kv(n, prefix='k'):
    return [{'Key': '%s%d' % (prefix, i), 'Value': 'v%d' % i} for i in range(n)]


def tags():
    out = {}
    u = iam.create_user(UserName='tag-user', Path='/ml/', Tags=[{'Key': 'team', 'Value': 'vision'}, {'Key': 'Cost Center_é.:/=+-@', 'Value': ''}])['User']
    r = iam.create_role(RoleName='tag-role', AssumeRolePolicyDocument=TRUST, Tags=[{'Key': 'env', 'Value': 'dev'}])['Role']
    out['created'] = [tagged(u['Tags']), tagged(r['Tags'])]
    out['got'] = [tagged(iam.get_user(UserName='tag-user')['User']['Tags']), tagged(iam.get_role(RoleName='tag-role')['Role']['Tags'])]
    iam.create_user(UserName='tag-none')
    out['none'] = ['Tags' in iam.get_user(UserName='tag-none')['User'], iam.list_user_tags(UserName='tag-none')['Tags'],
                   any('Tags' in x for x in iam.list_users()['Users'])]
    # TagUser overwrites a key given in another case (the first spelling stays) and adds new ones last.
    iam.tag_user(UserName='tag-user', Tags=[{'Key': 'TEAM', 'Value': 'nlp'}, {'Key': 'owner', 'Value': 'ana'}])
    iam.tag_role(RoleName='tag-role', Tags=[{'Key': 'tier', 'Value': 'gold'}])
    out['tagged'] = [sorted(tagged(iam.list_user_tags(UserName='tag-user')['Tags'])), tagged(iam.list_role_tags(RoleName='tag-role')['Tags'])]
    iam.untag_user(UserName='tag-user', TagKeys=['Owner', 'absent'])
    iam.untag_role(RoleName='tag-role', TagKeys=['ENV'])
    out['untagged'] = [sorted(tagged(iam.get_user(UserName='tag-user')['User']['Tags'])), tagged(iam.get_role(RoleName='tag-role')['Role']['Tags'])]
    first = iam.list_user_tags(UserName='tag-user', MaxItems=1)
    second = iam.list_user_tags(UserName='tag-user', Marker=first['Marker'])
    out['paged'] = [len(first['Tags']), first['IsTruncated'], len(second['Tags']), second['IsTruncated']]
    # IAM's limits and errors; a refused request changes nothing and creates nothing.
    iam.create_user(UserName='tag-full', Tags=kv(50))
    out['errors'] = {
        'tooManyInRequest': shape(lambda: iam.tag_user(UserName='tag-user', Tags=kv(51))),
        'overQuota': shape(lambda: iam.tag_user(UserName='tag-full', Tags=[{'Key': 'one-more', 'Value': 'x'}])),
        'overQuotaMessage': message_of(lambda: iam.tag_role(RoleName='tag-role', Tags=kv(50, 'r'))),
        'retagAtQuota': shape(lambda: iam.tag_user(UserName='tag-full', Tags=[{'Key': 'K1', 'Value': 'again'}])),
        'keyTooLong': shape(lambda: iam.tag_user(UserName='tag-user', Tags=[{'Key': 'k' * 129, 'Value': 'x'}])),
        'valueTooLong': shape(lambda: iam.tag_role(RoleName='tag-role', Tags=[{'Key': 'k', 'Value': 'v' * 257}])),
        'badChar': message_of(lambda: iam.tag_user(UserName='tag-user', Tags=[{'Key': 'ok', 'Value': 'ok'}, {'Key': 'cost#center', 'Value': 'x'}])),
        'badValueChar': shape(lambda: iam.tag_role(RoleName='tag-role', Tags=[{'Key': 'team', 'Value': 'a,b'}])),
        'duplicate': shape(lambda: iam.tag_user(UserName='tag-user', Tags=[{'Key': 'Dept', 'Value': '1'}, {'Key': 'dept', 'Value': '2'}])),
        'duplicateMessage': message_of(lambda: iam.create_role(RoleName='tag-dup', AssumeRolePolicyDocument=TRUST, Tags=[{'Key': 'a', 'Value': '1'}, {'Key': 'A', 'Value': '2'}])),
        'awsPrefix': shape(lambda: iam.create_user(UserName='tag-aws', Tags=[{'Key': 'AWS:x', 'Value': '1'}])),
        'untagTooMany': shape(lambda: iam.untag_user(UserName='tag-user', TagKeys=['k%d' % i for i in range(51)])),
        'noUser': shape(lambda: iam.tag_user(UserName='nobody', Tags=[{'Key': 'a', 'Value': '1'}])),
        'noRole': shape(lambda: iam.list_role_tags(RoleName='nobody')),
        'noUntag': shape(lambda: iam.untag_role(RoleName='nobody', TagKeys=['a'])),
    }
    out['unchanged'] = [sorted(tagged(iam.list_user_tags(UserName='tag-user')['Tags'])), len(iam.list_user_tags(UserName='tag-full')['Tags']),
                        tagged(iam.list_role_tags(RoleName='tag-role')['Tags']),
                        shape(lambda: iam.get_role(RoleName='tag-dup')), shape(lambda: iam.get_user(UserName='tag-aws'))]
    return out


def tag_access():
    """iam:TagUser etc. authorized on the entity's ARN, with aws:ResourceTag, aws:RequestTag and aws:TagKeys."""
    out = {}
    iam.create_user(UserName='acc-admin')
    key = iam.create_access_key(UserName='acc-admin')['AccessKey']
    iam.create_user(UserName='acc-a', Tags=[{'Key': 'Team', 'Value': 'ml'}])
    iam.create_user(UserName='acc-b', Tags=[{'Key': 'Team', 'Value': 'web'}])
    user_arn = 'arn:aws:iam::%s:user/' % ACCOUNT
    statements = [
        # Tag and list tags only on users whose team is ml, and only with a project tag.
        {'Effect': 'Allow', 'Action': ['iam:TagUser', 'iam:ListUserTags', 'iam:GetUser'], 'Resource': user_arn + '*',
         'Condition': {'StringEquals': {'aws:ResourceTag/team': 'ml'}}},
        {'Effect': 'Deny', 'Action': 'iam:TagUser', 'Resource': '*', 'Condition': {'ForAnyValue:StringNotEquals': {'aws:TagKeys': ['project']}}},
        {'Effect': 'Allow', 'Action': 'iam:UntagUser', 'Resource': user_arn + 'acc-a', 'Condition': {'StringEquals': {'iam:ResourceTag/Team': 'ml'}}},
        # CreateUser only with a cost-center tag of 42.
        {'Effect': 'Allow', 'Action': 'iam:CreateUser', 'Resource': '*', 'Condition': {'StringEquals': {'aws:RequestTag/cost-center': '42'}}},
    ]
    iam.put_user_policy(UserName='acc-admin', PolicyName='tags', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': statements}))
    admin = client('iam', key)
    out['resourceTag'] = [shape(lambda: admin.tag_user(UserName='acc-a', Tags=[{'Key': 'project', 'Value': 'p1'}])),
                          shape(lambda: admin.tag_user(UserName='acc-b', Tags=[{'Key': 'project', 'Value': 'p1'}])),
                          shape(lambda: admin.list_user_tags(UserName='acc-a')), shape(lambda: admin.list_user_tags(UserName='acc-b')),
                          shape(lambda: admin.get_user(UserName='acc-b'))]
    out['tagKeys'] = shape(lambda: admin.tag_user(UserName='acc-a', Tags=[{'Key': 'other', 'Value': 'x'}]))
    out['untag'] = [shape(lambda: admin.untag_user(UserName='acc-a', TagKeys=['project'])), shape(lambda: admin.untag_user(UserName='acc-b', TagKeys=['Team']))]
    out['requestTag'] = [shape(lambda: admin.create_user(UserName='acc-c', Tags=[{'Key': 'cost-center', 'Value': '42'}])),
                         shape(lambda: admin.create_user(UserName='acc-d', Tags=[{'Key': 'cost-center', 'Value': '7'}])),
                         shape(lambda: admin.create_user(UserName='acc-e'))]
    out['after'] = [sorted(tagged(iam.list_user_tags(UserName='acc-a')['Tags'])), tagged(iam.list_user_tags(UserName='acc-b')['Tags'])]
    trail = client('cloudtrail')
    events = trail.lookup_events(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'TagUser'}])['Events']
    records = [json.loads(e['CloudTrailEvent']) for e in events]
    out['audited'] = sorted([rec['requestParameters'].get('userName'), rec.get('errorCode') or 'ok', rec['requestParameters'].get('tags')] for rec in records
                            if rec['requestParameters'] and rec['requestParameters'].get('userName') in ('acc-a', 'acc-b'))
    events = trail.lookup_events(LookupAttributes=[{'AttributeKey': 'EventName', 'AttributeValue': 'UntagUser'}])['Events']
    records = [json.loads(e['CloudTrailEvent']) for e in events]
    out['auditedUntag'] = sorted([rec['requestParameters'].get('userName'), rec.get('errorCode') or 'ok', rec['requestParameters'].get('tagKeys')] for rec in records
                                 if rec['requestParameters'] and rec['requestParameters'].get('userName') in ('acc-a', 'acc-b'))
    return out


def tag_deny():
    """A Deny on the resource's tags (aws:ResourceTag, iam:ResourceTag; the key part of the condition key
    compared case-insensitively) applies to every action on a user or role, AssumeRole included, and the
    caller cannot lift it by untagging or retagging the entity."""
    out = {}
    iam.create_user(UserName='deny-admin')
    key = iam.create_access_key(UserName='deny-admin')['AccessKey']
    iam.create_user(UserName='deny-locked', Tags=[{'Key': 'LOCKED', 'Value': 'true'}])
    iam.create_user(UserName='deny-open', Tags=[{'Key': 'locked', 'Value': 'false'}])
    iam.create_role(RoleName='deny-locked-role', Path='/ops/', AssumeRolePolicyDocument=TRUST, Tags=[{'Key': 'Tier', 'Value': 'prod'}])
    iam.create_role(RoleName='deny-open-role', Path='/ops/', AssumeRolePolicyDocument=TRUST, Tags=[{'Key': 'Tier', 'Value': 'dev'}])
    statements = [
        {'Effect': 'Allow', 'Action': ['iam:*', 'sts:AssumeRole'], 'Resource': '*'},
        {'Effect': 'Deny', 'Action': 'iam:*', 'Resource': '*', 'Condition': {'StringEquals': {'aws:ResourceTag/Locked': 'true'}}},
        {'Effect': 'Deny', 'Action': 'sts:AssumeRole', 'Resource': '*', 'Condition': {'StringEquals': {'iam:ResourceTag/tier': 'prod'}}},
    ]
    iam.put_user_policy(UserName='deny-admin', PolicyName='deny', PolicyDocument=json.dumps({'Version': '2012-10-17', 'Statement': statements}))
    admin = client('iam', key)
    sts = client('sts', key)
    role_arn = 'arn:aws:iam::%s:role/ops/' % ACCOUNT
    out['locked'] = [shape(lambda: admin.get_user(UserName='deny-locked')),
                     shape(lambda: admin.untag_user(UserName='deny-locked', TagKeys=['locked'])),
                     shape(lambda: admin.tag_user(UserName='deny-locked', Tags=[{'Key': 'Locked', 'Value': 'false'}])),
                     shape(lambda: admin.delete_user(UserName='DENY-LOCKED'))]
    out['open'] = [shape(lambda: admin.get_user(UserName='deny-open')), shape(lambda: admin.tag_user(UserName='deny-open', Tags=[{'Key': 'x', 'Value': 'y'}]))]
    # Tagging the open user locked=true puts it under the Deny at once.
    out['lockedAfterTag'] = [shape(lambda: admin.tag_user(UserName='deny-open', Tags=[{'Key': 'LOCKED', 'Value': 'true'}])),
                             shape(lambda: admin.untag_user(UserName='deny-open', TagKeys=['locked']))]
    out['assume'] = [shape(lambda: sts.assume_role(RoleArn=role_arn + 'deny-locked-role', RoleSessionName='sess')),
                     shape(lambda: sts.assume_role(RoleArn=role_arn + 'deny-open-role', RoleSessionName='sess'))]
    out['after'] = [iam.list_user_tags(UserName='deny-locked')['Tags'], sorted(tagged(iam.list_user_tags(UserName='deny-open')['Tags']))]
    return out


if __name__ == '__main__':
    print(json.dumps({'attach': attach, 'paths': paths, 'tags': tags, 'tag-access': tag_access, 'tag-deny': tag_deny}[sys.argv[1]](), default=str))
