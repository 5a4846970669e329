"""boto3 against Cipherlake's EC2 volume API, for clients-boto3.test.ts. `python3 clients-boto3.py
SECTION` drives one group of operations and prints one JSON object of observations for the test
to assert on. Everything else comes from the environment (ENDPOINT, AWS_* credentials)."""
import json, os, re, sys
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
from botocore.exceptions import WaiterError
from boto3_common import client, is_time, shape

ENDPOINT = os.environ['ENDPOINT']
ec2 = client('ec2', ENDPOINT)
kms = client('kms', ENDPOINT)
VOL = re.compile(r'^vol-[0-9a-f]{17}$')
SNAP = re.compile(r'^snap-[0-9a-f]{17}$')
KEY_ARN = re.compile(r'^arn:aws:kms:us-east-1:000000000000:key/[0-9a-f-]{36}$')
# Our volumes and snapshots are ready at once: one poll is enough, and a waiter that polls
# more than twice has met a state it does not expect.
FAST = {'Delay': 1, 'MaxAttempts': 2}


def key(alias):
    arn = kms.create_key(Description='boto3 ' + alias)['KeyMetadata']['Arn']
    kms.create_alias(AliasName=alias, TargetKeyId=arn)
    return arn


def tags(resource, **kv):
    return [{'ResourceType': resource, 'Tags': [{'Key': k, 'Value': v} for k, v in kv.items()]}]


def ids(volumes):
    return sorted(v['VolumeId'] for v in volumes)


def volumes():
    out = {}
    arn = key('alias/boto3-vol')
    v = ec2.create_volume(Size=2, AvailabilityZone='us-east-1a', Encrypted=True, KmsKeyId='alias/boto3-vol', VolumeType='gp3',
                          TagSpecifications=tags('volume', team='ml', stage='train'))
    vid = v['VolumeId']
    out['create'] = {'id': bool(VOL.match(vid)), 'size': v['Size'], 'zone': v['AvailabilityZone'], 'state': v['State'], 'created': is_time(v['CreateTime']),
                     'encrypted': v['Encrypted'], 'keyArn': v['KmsKeyId'] == arn, 'type': v['VolumeType'], 'multiAttach': v['MultiAttachEnabled'],
                     'tags': sorted((t['Key'], t['Value']) for t in v['Tags'])}
    ec2.get_waiter('volume_available').wait(VolumeIds=[vid], WaiterConfig=FAST)
    other = ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', Encrypted=True, TagSpecifications=tags('volume', team='ops'))['VolumeId']
    d = ec2.describe_volumes(VolumeIds=[vid])['Volumes'][0]
    out['describe'] = {'id': d['VolumeId'] == vid, 'state': d['State'], 'keyArn': d['KmsKeyId'] == arn, 'attachments': d['Attachments'],
                       'tags': sorted(t['Key'] for t in d['Tags']), 'defaultKey': bool(KEY_ARN.match(ec2.describe_volumes(VolumeIds=[other])['Volumes'][0]['KmsKeyId']))}
    f = lambda *fs: ids(ec2.describe_volumes(Filters=[{'Name': n, 'Values': vs} for n, vs in fs])['Volumes'])
    out['filters'] = {'tag': f(('tag:team', ['ml'])) == [vid], 'tagOps': f(('tag:team', ['ops'])) == [other], 'tagNone': f(('tag:team', ['nobody'])),
                      'size': f(('size', ['2'])) == [vid], 'status': f(('status', ['available'])) == sorted([vid, other]),
                      'statusAndTag': f(('status', ['available']), ('tag:team', ['ml'])) == [vid], 'inUse': f(('status', ['in-use'])),
                      'tagKey': f(('tag-key', ['stage'])) == [vid], 'kmsKey': f(('kms-key-id', [arn])) == [vid],
                      'created': f(('create-time', [v['CreateTime'].strftime('%Y-%m-%dT*')]), ('tag:team', ['ml'])) == [vid], 'createdLongAgo': f(('create-time', ['1999-*'])),
                      'multiAttach': f(('multi-attach-enabled', ['false']), ('fast-restored', ['false'])) == sorted([vid, other]), 'notAttached': f(('attachment.status', ['attached']))}

    a = ec2.attach_volume(VolumeId=vid, InstanceId='i-0123456789abcdef0', Device='/dev/sdf')
    out['attach'] = {'state': a['State'], 'volume': a['VolumeId'] == vid, 'instance': a['InstanceId'], 'device': a['Device'], 'time': is_time(a['AttachTime'])}
    ec2.get_waiter('volume_in_use').wait(VolumeIds=[vid], WaiterConfig=FAST)
    d = ec2.describe_volumes(VolumeIds=[vid])['Volumes'][0]
    out['inUse'] = {'state': d['State'], 'attachment': [(x['InstanceId'], x['Device'], x['State']) for x in d['Attachments']],
                    'filter': ids(ec2.describe_volumes(Filters=[{'Name': 'attachment.instance-id', 'Values': ['i-0123456789abcdef0']}])['Volumes']) == [vid],
                    'documented': [f(('attachment.status', ['attached'])) == [vid], f(('attachment.device', ['/dev/sdf'])) == [vid],
                                   f(('attachment.delete-on-termination', ['false'])) == [vid], f(('attachment.attach-time', [a['AttachTime'].strftime('%Y-%m-%dT*')])) == [vid]],
                    'deleteInUse': shape(lambda: ec2.delete_volume(VolumeId=vid))}
    det = ec2.detach_volume(VolumeId=vid)
    out['detach'] = {'state': det['State'], 'volume': det['VolumeId'] == vid, 'again': shape(lambda: ec2.detach_volume(VolumeId=vid))}
    ec2.get_waiter('volume_available').wait(VolumeIds=[vid], WaiterConfig=FAST)

    ec2.delete_volume(VolumeId=other)
    ec2.get_waiter('volume_deleted').wait(VolumeIds=[other], WaiterConfig=FAST)
    out['deleted'] = shape(lambda: ec2.describe_volumes(VolumeIds=[other]))
    return out


def pages(name, key, **kw):
    """Every item a boto3 paginator yields in pages of 5 (EC2's smallest MaxResults), and how many pages it took."""
    got = list(ec2.get_paginator(name).paginate(PaginationConfig={'PageSize': 5}, **kw))
    return [len(got), [item for page in got for item in page[key]]]


def volume_paging():
    made = [ec2.create_volume(Size=1, AvailabilityZone='us-east-1c', TagSpecifications=tags('volume', page='yes'))['VolumeId'] for _ in range(11)]
    n, vols = pages('describe_volumes', 'Volumes')
    out = {'pages': [n >= 3, set(made) <= {v['VolumeId'] for v in vols}, len(vols) == len({v['VolumeId'] for v in vols})]}
    n, vols = pages('describe_volumes', 'Volumes', Filters=[{'Name': 'tag:page', 'Values': ['yes']}])
    out['filtered'] = [n, ids(vols) == sorted(made)]
    return out


def snapshots():
    out = {}
    src_arn = key('alias/boto3-snap-a')
    dst_arn = key('alias/boto3-snap-b')
    vid = ec2.create_volume(Size=1, AvailabilityZone='us-east-1b', Encrypted=True, KmsKeyId=src_arn)['VolumeId']
    s = ec2.create_snapshot(VolumeId=vid, Description='nightly', TagSpecifications=tags('snapshot', team='ml'))
    sid = s['SnapshotId']
    out['create'] = {'id': bool(SNAP.match(sid)), 'volume': s['VolumeId'] == vid, 'size': s['VolumeSize'], 'description': s['Description'],
                     'encrypted': s['Encrypted'], 'keyArn': s['KmsKeyId'] == src_arn, 'started': is_time(s['StartTime']), 'owner': s['OwnerId'],
                     'tags': [(t['Key'], t['Value']) for t in s['Tags']]}
    ec2.get_waiter('snapshot_completed').wait(SnapshotIds=[sid], WaiterConfig=FAST)
    d = ec2.describe_snapshots(SnapshotIds=[sid])['Snapshots'][0]
    snap_ids = lambda **kw: [x['SnapshotId'] for x in ec2.describe_snapshots(**kw)['Snapshots']]
    out['describe'] = {'state': d['State'], 'progress': d['Progress'], 'keyArn': d['KmsKeyId'] == src_arn,
                       'byTag': snap_ids(Filters=[{'Name': 'tag:team', 'Values': ['ml']}]) == [sid],
                       'byStatus': sid in snap_ids(Filters=[{'Name': 'status', 'Values': ['completed']}]),
                       'byVolume': snap_ids(Filters=[{'Name': 'volume-id', 'Values': [vid]}]) == [sid],
                       'mine': sid in snap_ids(OwnerIds=['self']),
                       'documented': [snap_ids(Filters=[{'Name': 'volume-size', 'Values': ['1']}, {'Name': 'storage-tier', 'Values': ['standard']},
                                                        {'Name': 'progress', 'Values': ['100%']}, {'Name': 'volume-id', 'Values': [vid]}]) == [sid],
                                      snap_ids(Filters=[{'Name': 'start-time', 'Values': [s['StartTime'].strftime('%Y-%m-%dT*')]}, {'Name': 'volume-id', 'Values': [vid]}]) == [sid],
                                      snap_ids(Filters=[{'Name': 'owner-alias', 'Values': ['amazon']}])]}
    c = ec2.copy_snapshot(SourceSnapshotId=sid, SourceRegion='us-east-1', Encrypted=True, KmsKeyId='alias/boto3-snap-b', Description='copy',
                          TagSpecifications=tags('snapshot', copy='yes'))
    cid = c['SnapshotId']
    ec2.get_waiter('snapshot_completed').wait(SnapshotIds=[cid], WaiterConfig=FAST)
    restored = ec2.create_volume(SnapshotId=cid, Size=3, AvailabilityZone='us-east-1a')
    out['copy'] = {'id': bool(SNAP.match(cid)) and cid != sid, 'tags': [(t['Key'], t['Value']) for t in c.get('Tags', [])],
                   'keyArn': ec2.describe_snapshots(SnapshotIds=[cid])['Snapshots'][0]['KmsKeyId'] == dst_arn,
                   'restored': [restored['SnapshotId'] == cid, restored['Size'], restored['KmsKeyId'] == dst_arn]}
    # Six snapshots in all, for two pages of five (each snapshot copies its volume: made in parallel).
    with ThreadPoolExecutor(4) as pool:
        more = list(pool.map(lambda _: ec2.create_snapshot(VolumeId=vid)['SnapshotId'], range(4)))
    n, got = pages('describe_snapshots', 'Snapshots', OwnerIds=['self'])
    out['pages'] = [n, sorted(x['SnapshotId'] for x in got) == sorted([sid, cid] + more)]
    ec2.delete_snapshot(SnapshotId=cid)
    out['deleted'] = shape(lambda: ec2.describe_snapshots(SnapshotIds=[cid]))
    return out


def ebs_defaults():
    arn = key('alias/boto3-default')
    out = {'get': ec2.get_ebs_encryption_by_default()['EbsEncryptionByDefault'],
           'enable': ec2.enable_ebs_encryption_by_default()['EbsEncryptionByDefault'],
           'afterEnable': ec2.get_ebs_encryption_by_default()['EbsEncryptionByDefault'],
           'disable': ec2.disable_ebs_encryption_by_default()['EbsEncryptionByDefault'],
           'modify': ec2.modify_ebs_default_kms_key_id(KmsKeyId='alias/boto3-default')['KmsKeyId'] == arn,
           'getKey': ec2.get_ebs_default_kms_key_id()['KmsKeyId'] == arn}
    v = ec2.create_volume(Size=1, AvailabilityZone='us-east-1a')
    out['usesDefault'] = [v['Encrypted'], v['KmsKeyId'] == arn]
    reset = ec2.reset_ebs_default_kms_key_id()['KmsKeyId']
    ebs = kms.describe_key(KeyId='alias/aws/ebs')['KeyMetadata']['Arn']
    out['reset'] = [reset == ebs, ec2.get_ebs_default_kms_key_id()['KmsKeyId']]
    return out


def errors():
    vid = ec2.create_volume(Size=1, AvailabilityZone='us-east-1a')['VolumeId']
    missing_vol, missing_snap = 'vol-0123456789abcdef0', 'snap-0123456789abcdef0'
    out = {'volumeNotFound': shape(lambda: ec2.describe_volumes(VolumeIds=[missing_vol])),
           'deleteNotFound': shape(lambda: ec2.delete_volume(VolumeId=missing_vol)),
           'attachNotFound': shape(lambda: ec2.attach_volume(VolumeId=missing_vol, InstanceId='i-0123456789abcdef0', Device='/dev/sdf')),
           'snapshotNotFound': shape(lambda: ec2.describe_snapshots(SnapshotIds=[missing_snap])),
           'malformed': shape(lambda: ec2.describe_volumes(VolumeIds=['vol-nothex'])),
           'sizeZero': shape(lambda: ec2.create_volume(Size=0, AvailabilityZone='us-east-1a')),
           'badType': shape(lambda: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', VolumeType='floppy')),
           'badFilter': shape(lambda: ec2.describe_volumes(Filters=[{'Name': 'bogus', 'Values': ['x']}])),
           'kmsKeyNotFound': shape(lambda: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', KmsKeyId='alias/nope')),
           'noZone': shape(lambda: ec2.create_volume(Size=1, AvailabilityZone='')),
           'idsAndMax': shape(lambda: ec2.describe_volumes(VolumeIds=[vid], MaxResults=5)),
           'dryRun': shape(lambda: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', DryRun=True)),
           'dryRunDelete': shape(lambda: ec2.delete_volume(VolumeId=vid, DryRun=True))}
    # boto3 sends a ClientToken with CreateVolume and resends it when it retries: one volume per token.
    once = lambda **kw: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', ClientToken='boto3-token-1', TagSpecifications=tags('volume', token='1'), **kw)
    first, again = once()['VolumeId'], once()['VolumeId']
    out['clientToken'] = [first == again, ids(ec2.describe_volumes(Filters=[{'Name': 'tag:token', 'Values': ['1']}])['Volumes']) == [first],
                          shape(lambda: once(VolumeType='gp3')), ec2.create_volume(Size=1, AvailabilityZone='us-east-1a')['VolumeId'] != first]
    # Retries that arrive while the first request still runs get its volume too.
    with ThreadPoolExecutor(3) as pool:
        racing = set(pool.map(lambda _: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', ClientToken='boto3-token-2')['VolumeId'], range(3)))
    out['clientTokenRace'] = len(racing)
    out['stillThere'] = ids(ec2.describe_volumes(VolumeIds=[vid])['Volumes']) == [vid]
    try:
        ec2.get_waiter('volume_available').wait(VolumeIds=[missing_vol], WaiterConfig=FAST)
        out['waiterOnMissing'] = 'no error'
    except WaiterError as e:
        out['waiterOnMissing'] = e.last_response.get('Error', {}).get('Code')

    # An IAM user with no EC2 permission: boto3 sees EC2's UnauthorizedOperation (403).
    iam = client('iam', ENDPOINT)
    iam.create_user(UserName='boto3-ec2-none')
    k = iam.create_access_key(UserName='boto3-ec2-none')['AccessKey']
    other = client('ec2', ENDPOINT, k)
    out['unauthorized'] = [shape(lambda: other.describe_volumes()), shape(lambda: other.create_volume(Size=1, AvailabilityZone='us-east-1a', DryRun=True))]
    return out


# A 64-character token (EC2's longest), used before and after the server restarts.
LONG_TOKEN = 'boto3-restart-' + 'x' * 50


def token_create(size=1):
    return ec2.create_volume(Size=size, AvailabilityZone='us-east-1a', ClientToken=LONG_TOKEN, TagSpecifications=tags('volume', token='restart'))['VolumeId']


def token_before_restart():
    return {'tooLong': shape(lambda: ec2.create_volume(Size=1, AvailabilityZone='us-east-1a', ClientToken=LONG_TOKEN + 'y')),
            'longest': [len(LONG_TOKEN), bool(VOL.match(token_create()))]}


def token_after_restart():
    """The volume the token made before the restart, found again by the token: no second volume."""
    made = ids(ec2.describe_volumes(Filters=[{'Name': 'tag:token', 'Values': ['restart']}])['Volumes'])
    return {'made': len(made), 'again': [token_create()] == made, 'mismatch': shape(lambda: token_create(size=2)),
            'count': len(ids(ec2.describe_volumes(Filters=[{'Name': 'tag:token', 'Values': ['restart']}])['Volumes']))}


SECTIONS = {'volumes': volumes, 'volume-paging': volume_paging, 'snapshots': snapshots, 'ebs-defaults': ebs_defaults, 'errors': errors,
            'token-before-restart': token_before_restart, 'token-after-restart': token_after_restart}
print(json.dumps(SECTIONS[sys.argv[1]]()))
