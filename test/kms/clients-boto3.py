"""boto3 against Cipherlake KMS, for clients-boto3.test.ts. `python3 clients-boto3.py SECTION`
drives one group of operations and prints one JSON object of observations for the test to
assert on. Signatures and public keys are checked here with `cryptography`, independently of
the server. Everything else comes from the environment (KMS_ENDPOINT, AWS_* credentials)."""
import hashlib, json, os, re, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'helpers'))
from boto3_common import client, code, is_time, shape
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

ENDPOINT = os.environ['KMS_ENDPOINT']
kms = client('kms', ENDPOINT)
ARN = re.compile(r'^arn:aws:kms:us-east-1:000000000000:key/[0-9a-f-]{36}$')


def new_key(**kw):
    return kms.create_key(**kw)['KeyMetadata']


def symmetric():
    out = {}
    md = new_key(Description='boto3 symmetric', Tags=[{'TagKey': 'team', 'TagValue': 'ml'}])
    key, other = md['KeyId'], new_key()['KeyId']
    out['create'] = {'arn': bool(ARN.match(md['Arn'])) and md['Arn'].endswith(key), 'created': is_time(md['CreationDate']),
                     'spec': md['KeySpec'], 'cmkSpec': md['CustomerMasterKeySpec'], 'usage': md['KeyUsage'], 'state': md['KeyState'],
                     'enabled': md['Enabled'], 'origin': md['Origin'], 'manager': md['KeyManager'], 'algs': md['EncryptionAlgorithms'],
                     'multiRegion': md['MultiRegion'], 'account': md['AWSAccountId'], 'description': md['Description']}
    kms.update_key_description(KeyId=key, Description='renamed')
    d = kms.describe_key(KeyId=md['Arn'])['KeyMetadata']
    out['describe'] = [d['KeyId'] == key, d['Description']]
    listed = kms.list_keys()['Keys']
    out['listed'] = {'KeyId': key, 'KeyArn': md['Arn']} in listed

    ctx = {'purpose': 'boto3', 'team': 'ml'}
    enc = kms.encrypt(KeyId=key, Plaintext=b'hello from boto3', EncryptionContext=ctx)
    dec = kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionContext=ctx)
    out['encrypt'] = {'keyId': enc['KeyId'] == md['Arn'], 'alg': enc['EncryptionAlgorithm'], 'plain': dec['Plaintext'].decode(),
                      'decKeyId': dec['KeyId'] == md['Arn'], 'decAlg': dec['EncryptionAlgorithm'],
                      'wrongContext': code(lambda: kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionContext={'purpose': 'other'})),
                      'noContext': code(lambda: kms.decrypt(CiphertextBlob=enc['CiphertextBlob'])),
                      'otherKey': code(lambda: kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionContext=ctx, KeyId=other)),
                      'garbage': code(lambda: kms.decrypt(CiphertextBlob=os.urandom(120)))}

    re_ = kms.re_encrypt(CiphertextBlob=enc['CiphertextBlob'], SourceEncryptionContext=ctx, DestinationKeyId=other,
                         DestinationEncryptionContext={'moved': 'yes'})
    back = kms.decrypt(CiphertextBlob=re_['CiphertextBlob'], EncryptionContext={'moved': 'yes'})
    out['reEncrypt'] = {'source': re_['SourceKeyId'] == md['Arn'], 'dest': re_['KeyId'].endswith(other), 'plain': back['Plaintext'].decode(),
                        'algs': [re_['SourceEncryptionAlgorithm'], re_['DestinationEncryptionAlgorithm']], 'decKey': back['KeyId'].endswith(other),
                        'wrongSourceContext': code(lambda: kms.re_encrypt(CiphertextBlob=enc['CiphertextBlob'], DestinationKeyId=other))}

    dk = kms.generate_data_key(KeyId=key, KeySpec='AES_256', EncryptionContext=ctx)
    dk64 = kms.generate_data_key(KeyId=key, NumberOfBytes=64)
    wp = kms.generate_data_key_without_plaintext(KeyId=key, KeySpec='AES_128')
    out['dataKey'] = {'len': len(dk['Plaintext']), 'keyId': dk['KeyId'] == md['Arn'],
                      'roundTrip': kms.decrypt(CiphertextBlob=dk['CiphertextBlob'], EncryptionContext=ctx)['Plaintext'] == dk['Plaintext'],
                      'len64': len(dk64['Plaintext']), 'withoutPlaintext': sorted(k for k in wp if k != 'ResponseMetadata'),
                      'withoutLen': len(kms.decrypt(CiphertextBlob=wp['CiphertextBlob'])['Plaintext']),
                      'random': len(kms.generate_random(NumberOfBytes=16)['Plaintext'])}

    kms.disable_key(KeyId=key)
    out['disabled'] = {'state': kms.describe_key(KeyId=key)['KeyMetadata']['KeyState'],
                       'encrypt': code(lambda: kms.encrypt(KeyId=key, Plaintext=b'x')),
                       'decrypt': code(lambda: kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionContext=ctx))}
    kms.enable_key(KeyId=key)
    out['enabled'] = kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], EncryptionContext=ctx)['Plaintext'] == b'hello from boto3'
    missing = '00000000-0000-4000-8000-000000000000'
    out['notFound'] = [code(lambda: kms.describe_key(KeyId=missing)), code(lambda: kms.encrypt(KeyId='alias/nope', Plaintext=b'x'))]
    return out


def verify_rsa_pss(pub, msg, sig):
    try:
        pub.verify(sig, msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def verify_ecdsa_digest(pub, digest, sig):
    try:
        pub.verify(sig, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return True
    except InvalidSignature:
        return False


def asymmetric():
    out = {}
    rsa = new_key(KeySpec='RSA_2048', KeyUsage='SIGN_VERIFY')
    p256 = new_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')
    out['create'] = {'rsa': [rsa['KeySpec'], rsa['KeyUsage'], 'RSASSA_PSS_SHA_256' in rsa['SigningAlgorithms'], 'EncryptionAlgorithms' in rsa],
                     'p256': [p256['KeySpec'], p256['SigningAlgorithms']]}
    msg = b'a model card to sign'
    pk = kms.get_public_key(KeyId=rsa['KeyId'])
    rsa_pub = serialization.load_der_public_key(pk['PublicKey'])
    out['rsaPublic'] = {'bits': rsa_pub.key_size, 'spec': pk['KeySpec'], 'usage': pk['KeyUsage'], 'keyId': pk['KeyId'] == rsa['Arn']}
    s = kms.sign(KeyId=rsa['KeyId'], Message=msg, SigningAlgorithm='RSASSA_PSS_SHA_256')
    v = kms.verify(KeyId=rsa['KeyId'], Message=msg, Signature=s['Signature'], SigningAlgorithm='RSASSA_PSS_SHA_256')
    out['rsaSign'] = {'alg': s['SigningAlgorithm'], 'keyId': s['KeyId'] == rsa['Arn'], 'local': verify_rsa_pss(rsa_pub, msg, s['Signature']),
                      'localTampered': verify_rsa_pss(rsa_pub, msg + b'!', s['Signature']), 'valid': v['SignatureValid'], 'verifyAlg': v['SigningAlgorithm'],
                      'tampered': code(lambda: kms.verify(KeyId=rsa['KeyId'], Message=msg + b'!', Signature=s['Signature'], SigningAlgorithm='RSASSA_PSS_SHA_256'))}

    digest = hashlib.sha256(msg).digest()
    ec_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=p256['KeyId'])['PublicKey'])
    s = kms.sign(KeyId=p256['KeyId'], Message=digest, MessageType='DIGEST', SigningAlgorithm='ECDSA_SHA_256')
    raw = kms.sign(KeyId=p256['KeyId'], Message=msg, MessageType='RAW', SigningAlgorithm='ECDSA_SHA_256')
    out['ecSign'] = {'curve': ec_pub.curve.name, 'local': verify_ecdsa_digest(ec_pub, digest, s['Signature']),
                     'localRaw': verify_ecdsa_digest(ec_pub, digest, raw['Signature']),
                     'valid': kms.verify(KeyId=p256['KeyId'], Message=digest, MessageType='DIGEST', Signature=raw['Signature'], SigningAlgorithm='ECDSA_SHA_256')['SignatureValid'],
                     'validRaw': kms.verify(KeyId=p256['KeyId'], Message=msg, Signature=s['Signature'], SigningAlgorithm='ECDSA_SHA_256')['SignatureValid'],
                     'badDigestLength': code(lambda: kms.sign(KeyId=p256['KeyId'], Message=b'short', MessageType='DIGEST', SigningAlgorithm='ECDSA_SHA_256')),
                     'wrongAlg': code(lambda: kms.sign(KeyId=p256['KeyId'], Message=msg, SigningAlgorithm='RSASSA_PSS_SHA_256')),
                     'encryptWithSigningKey': code(lambda: kms.encrypt(KeyId=p256['KeyId'], Plaintext=b'x'))}

    sym = new_key()['KeyId']
    pair = kms.generate_data_key_pair(KeyId=sym, KeyPairSpec='ECC_NIST_P256', EncryptionContext={'pair': '1'})
    priv = serialization.load_der_private_key(pair['PrivateKeyPlaintext'], password=None)
    spki = priv.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    wp = kms.generate_data_key_pair_without_plaintext(KeyId=sym, KeyPairSpec='RSA_2048')
    out['dataKeyPair'] = {'spec': pair['KeyPairSpec'], 'publicMatches': spki == pair['PublicKey'], 'keyId': pair['KeyId'].endswith(sym),
                          'unwraps': kms.decrypt(CiphertextBlob=pair['PrivateKeyCiphertextBlob'], EncryptionContext={'pair': '1'})['Plaintext'] == pair['PrivateKeyPlaintext'],
                          'withoutPlaintext': sorted(k for k in wp if k != 'ResponseMetadata'),
                          'withoutBits': serialization.load_der_public_key(wp['PublicKey']).key_size}

    rsa_enc = new_key(KeySpec='RSA_2048', KeyUsage='ENCRYPT_DECRYPT')
    enc_pub = serialization.load_der_public_key(kms.get_public_key(KeyId=rsa_enc['KeyId'])['PublicKey'])
    local = enc_pub.encrypt(b'sealed locally', padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    d = kms.decrypt(KeyId=rsa_enc['KeyId'], CiphertextBlob=local, EncryptionAlgorithm='RSAES_OAEP_SHA_256')
    out['rsaOaep'] = {'plain': d['Plaintext'].decode(), 'alg': d['EncryptionAlgorithm'],
                      'noKeyId': code(lambda: kms.decrypt(CiphertextBlob=local, EncryptionAlgorithm='RSAES_OAEP_SHA_256'))}
    return out


def mac():
    md = new_key(KeySpec='HMAC_256', KeyUsage='GENERATE_VERIFY_MAC')
    key, msg = md['KeyId'], b'a message to authenticate'
    m = kms.generate_mac(KeyId=key, Message=msg, MacAlgorithm='HMAC_SHA_256')
    v = kms.verify_mac(KeyId=key, Message=msg, Mac=m['Mac'], MacAlgorithm='HMAC_SHA_256')
    return {'create': [md['KeySpec'], md['KeyUsage'], md['MacAlgorithms']], 'len': len(m['Mac']), 'alg': m['MacAlgorithm'],
            'keyId': m['KeyId'] == md['Arn'], 'valid': v['MacValid'], 'verifyAlg': v['MacAlgorithm'],
            'stable': kms.generate_mac(KeyId=key, Message=msg, MacAlgorithm='HMAC_SHA_256')['Mac'] == m['Mac'],
            'tampered': code(lambda: kms.verify_mac(KeyId=key, Message=msg + b'!', Mac=m['Mac'], MacAlgorithm='HMAC_SHA_256')),
            'wrongAlg': code(lambda: kms.generate_mac(KeyId=key, Message=msg, MacAlgorithm='HMAC_SHA_512')),
            'publicKey': code(lambda: kms.get_public_key(KeyId=key))}


def iam_user(iam, name):
    """An IAM user with no policy at all, and a KMS client signing as it."""
    arn = iam.create_user(UserName=name)['User']['Arn']
    ak = iam.create_access_key(UserName=name)['AccessKey']
    return arn, client('kms', ENDPOINT, ak)


def grants():
    iam = client('iam', ENDPOINT)
    user, grantee = iam_user(iam, 'grantee')
    retirer_arn, retirer = iam_user(iam, 'retirer')
    md = new_key()
    key = md['KeyId']
    ctx = {'project': 'alpha', 'stage': 'train'}
    blob = kms.encrypt(KeyId=key, Plaintext=b'granted', EncryptionContext=ctx)['CiphertextBlob']
    other = kms.encrypt(KeyId=key, Plaintext=b'not granted', EncryptionContext={'project': 'beta'})['CiphertextBlob']
    out = {'before': code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)),
           'dryRunBefore': code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, DryRun=True))}
    g = kms.create_grant(KeyId=key, GranteePrincipal=user, RetiringPrincipal=retirer_arn, Operations=['Decrypt', 'DescribeKey'], Name='boto3-grant',
                         Constraints={'EncryptionContextSubset': {'project': 'alpha'}})
    out['create'] = [bool(g['GrantId']), bool(g['GrantToken'])]
    out['dryRunGranted'] = code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, DryRun=True))
    out['withToken'] = grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, GrantTokens=[g['GrantToken']])['Plaintext'].decode()
    out['outsideConstraint'] = code(lambda: grantee.decrypt(CiphertextBlob=other, EncryptionContext={'project': 'beta'}, GrantTokens=[g['GrantToken']]))
    out['notGrantedOp'] = code(lambda: grantee.encrypt(KeyId=key, Plaintext=b'x', EncryptionContext=ctx, GrantTokens=[g['GrantToken']]))
    listed = kms.list_grants(KeyId=key)
    one = listed['Grants'][0]
    out['list'] = {'count': len(listed['Grants']), 'truncated': listed['Truncated'], 'id': one['GrantId'] == g['GrantId'], 'name': one['Name'],
                   'keyId': one['KeyId'] == md['Arn'], 'grantee': one['GranteePrincipal'] == user, 'retiring': one['RetiringPrincipal'] == retirer_arn,
                   'ops': sorted(one['Operations']), 'constraints': one['Constraints'], 'created': is_time(one['CreationDate']),
                   'issuing': one['IssuingAccount']}
    out['retirable'] = [x['GrantId'] for x in kms.list_retirable_grants(RetiringPrincipal=retirer_arn)['Grants']] == [g['GrantId']]
    # The grant decides who retires it: not its grantee (the grant does not allow RetireGrant), but its retiring principal.
    out['granteeRetires'] = code(lambda: grantee.retire_grant(GrantToken=g['GrantToken']))
    retirer.retire_grant(GrantToken=g['GrantToken'])
    out['afterRetire'] = [len(kms.list_grants(KeyId=key)['Grants']), code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx))]
    g2 = kms.create_grant(KeyId=key, GranteePrincipal=user, Operations=['Decrypt', 'RetireGrant'], Constraints={'EncryptionContextEquals': ctx})
    out['equals'] = [grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)['Plaintext'].decode(),
                     code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext={**ctx, 'extra': '1'}))]
    out['retirerOnOther'] = code(lambda: retirer.retire_grant(KeyId=md['Arn'], GrantId=g2['GrantId']))
    grantee.retire_grant(KeyId=md['Arn'], GrantId=g2['GrantId'])
    g3 = kms.create_grant(KeyId=key, GranteePrincipal=user, Operations=['Decrypt'])
    out['granteeRevokes'] = code(lambda: grantee.revoke_grant(KeyId=key, GrantId=g3['GrantId']))
    kms.revoke_grant(KeyId=key, GrantId=g3['GrantId'])
    out['afterRevoke'] = [len(kms.list_grants(KeyId=key)['Grants']), code(lambda: grantee.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)),
                          code(lambda: kms.revoke_grant(KeyId=key, GrantId=g3['GrantId']))]
    return out


def aliases_policies():
    a, b = new_key(), new_key()
    kms.create_alias(AliasName='alias/boto3-data', TargetKeyId=a['KeyId'])
    al = kms.list_aliases(KeyId=a['KeyId'])
    one = al['Aliases'][0]
    out = {'list': {'count': len(al['Aliases']), 'name': one['AliasName'], 'arn': one['AliasArn'], 'target': one['TargetKeyId'] == a['KeyId'],
                    'created': is_time(one['CreationDate']), 'truncated': al['Truncated']},
           'encryptByAlias': kms.encrypt(KeyId='alias/boto3-data', Plaintext=b'x')['KeyId'] == a['Arn'],
           'duplicate': code(lambda: kms.create_alias(AliasName='alias/boto3-data', TargetKeyId=b['KeyId'])),
           'reserved': code(lambda: kms.create_alias(AliasName='alias/aws/boto3', TargetKeyId=b['KeyId'])),
           'badName': code(lambda: kms.create_alias(AliasName='boto3-data', TargetKeyId=b['KeyId']))}
    kms.update_alias(AliasName='alias/boto3-data', TargetKeyId=b['KeyId'])
    out['updated'] = kms.describe_key(KeyId='alias/boto3-data')['KeyMetadata']['KeyId'] == b['KeyId']
    out['byAliasArn'] = kms.describe_key(KeyId='arn:aws:kms:us-east-1:000000000000:alias/boto3-data')['KeyMetadata']['KeyId'] == b['KeyId']
    kms.delete_alias(AliasName='alias/boto3-data')
    out['deleted'] = [code(lambda: kms.describe_key(KeyId='alias/boto3-data')), code(lambda: kms.delete_alias(AliasName='alias/boto3-data'))]

    # DescribeKey on a predefined AWS alias with no key yet creates its AWS managed key, as on AWS.
    s3 = kms.describe_key(KeyId='alias/aws/s3')['KeyMetadata']
    ebs = kms.describe_key(KeyId='arn:aws:kms:us-east-1:000000000000:alias/aws/ebs')['KeyMetadata']
    out['awsManaged'] = {'s3': [s3['KeyManager'], s3['Description']], 'ebs': ebs['KeyManager'],
                         'again': kms.describe_key(KeyId='alias/aws/s3')['KeyMetadata']['KeyId'] == s3['KeyId'],
                         'listed': [x.get('TargetKeyId') == s3['KeyId'] for x in kms.list_aliases()['Aliases'] if x['AliasName'] == 'alias/aws/s3'],
                         'other': code(lambda: kms.describe_key(KeyId='alias/aws/not-a-service'))}
    pol = kms.get_key_policy(KeyId=a['KeyId'], PolicyName='default')
    doc = json.loads(pol['Policy'])
    out['policy'] = {'name': pol.get('PolicyName'), 'principal': doc['Statement'][0]['Principal'], 'action': doc['Statement'][0]['Action']}
    new = json.dumps({'Version': '2012-10-17', 'Statement': [{'Sid': 'root', 'Effect': 'Allow', 'Principal': {'AWS': 'arn:aws:iam::000000000000:root'},
                                                             'Action': 'kms:*', 'Resource': '*'}]})
    kms.put_key_policy(KeyId=a['KeyId'], PolicyName='default', Policy=new)
    names = kms.list_key_policies(KeyId=a['KeyId'])
    out['putPolicy'] = {'same': json.loads(kms.get_key_policy(KeyId=a['KeyId'])['Policy']) == json.loads(new),
                        'names': names['PolicyNames'], 'truncated': names['Truncated'],
                        'malformed': code(lambda: kms.put_key_policy(KeyId=a['KeyId'], PolicyName='default', Policy='not json'))}
    return out


def rotation_tags_deletion():
    md = new_key(Tags=[{'TagKey': 'team', 'TagValue': 'ml'}])
    key = md['KeyId']
    blob = kms.encrypt(KeyId=key, Plaintext=b'before rotation')['CiphertextBlob']
    off = kms.get_key_rotation_status(KeyId=key)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    on = kms.get_key_rotation_status(KeyId=key)
    out = {'status': {'off': off['KeyRotationEnabled'], 'on': on['KeyRotationEnabled'], 'period': on.get('RotationPeriodInDays'),
                      'next': is_time(on.get('NextRotationDate')), 'keyId': on.get('KeyId') == key,
                      'badPeriod': code(lambda: kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=2561))}}
    r = kms.rotate_key_on_demand(KeyId=key)
    rot = kms.list_key_rotations(KeyId=key)
    after = kms.encrypt(KeyId=key, Plaintext=b'after rotation')['CiphertextBlob']
    out['rotate'] = {'keyId': r['KeyId'] == key, 'count': len(rot['Rotations']), 'type': rot['Rotations'][0]['RotationType'],
                     'date': is_time(rot['Rotations'][0]['RotationDate']), 'truncated': rot['Truncated'],
                     'oldDecrypts': kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode(), 'newDecrypts': kms.decrypt(CiphertextBlob=after)['Plaintext'].decode(),
                     # The key material version each blob names (FORMAT.md: u32 at offset 17): new material after the rotation.
                     'versions': [int.from_bytes(b[17:21], 'big') for b in (blob, after)]}
    kms.disable_key_rotation(KeyId=key)
    out['status']['disabled'] = kms.get_key_rotation_status(KeyId=key)['KeyRotationEnabled']
    hmac_key = new_key(KeySpec='HMAC_256', KeyUsage='GENERATE_VERIFY_MAC')['KeyId']
    out['status']['hmacRotation'] = code(lambda: kms.enable_key_rotation(KeyId=hmac_key))

    kms.tag_resource(KeyId=key, Tags=[{'TagKey': 'stage', 'TagValue': 'train'}, {'TagKey': 'team', 'TagValue': 'ops'}])
    t1 = kms.list_resource_tags(KeyId=key)
    kms.untag_resource(KeyId=key, TagKeys=['team'])
    out['tags'] = {'after': sorted((t['TagKey'], t['TagValue']) for t in t1['Tags']), 'truncated': t1['Truncated'],
                   'untagged': kms.list_resource_tags(KeyId=key)['Tags'],
                   'reserved': code(lambda: kms.tag_resource(KeyId=key, Tags=[{'TagKey': 'aws:x', 'TagValue': 'y'}]))}

    s = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    out['schedule'] = {'keyId': s['KeyId'] == md['Arn'], 'state': s['KeyState'], 'window': s['PendingWindowInDays'], 'date': is_time(s['DeletionDate']),
                       'describe': kms.describe_key(KeyId=key)['KeyMetadata']['KeyState'],
                       'encrypt': code(lambda: kms.encrypt(KeyId=key, Plaintext=b'x')),
                       'decrypt': code(lambda: kms.decrypt(CiphertextBlob=blob)),
                       'badWindow': code(lambda: kms.schedule_key_deletion(KeyId=new_key()['KeyId'], PendingWindowInDays=6))}
    c = kms.cancel_key_deletion(KeyId=key)
    out['cancel'] = {'keyId': c['KeyId'] == md['Arn'], 'state': kms.describe_key(KeyId=key)['KeyMetadata']['KeyState'],
                     'again': code(lambda: kms.cancel_key_deletion(KeyId=key))}
    kms.enable_key(KeyId=key)
    out['cancel']['usable'] = kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode()
    return out


def pages(name, key, **kw):
    """Every item a boto3 paginator yields with 2 items a page, and how many pages it took."""
    got = list(kms.get_paginator(name).paginate(PaginationConfig={'PageSize': 2}, **kw))
    return [len(got), [item for page in got for item in page[key]]]


def paging_errors():
    made = [new_key()['KeyId'] for _ in range(5)]
    key = made[0]
    for i, k in enumerate(made):
        kms.create_alias(AliasName='alias/page-%d' % i, TargetKeyId=k)
    for i in range(5):
        kms.create_grant(KeyId=key, GranteePrincipal='arn:aws:iam::000000000000:role/page-%d' % i, Operations=['Decrypt'])
    kms.tag_resource(KeyId=key, Tags=[{'TagKey': 'k%d' % i, 'TagValue': str(i)} for i in range(5)])
    n, keys = pages('list_keys', 'Keys')
    out = {'keys': [n >= 3, all(k in [x['KeyId'] for x in keys] for k in made), len(keys) == len({x['KeyId'] for x in keys})]}
    n, aliases = pages('list_aliases', 'Aliases')
    mine = sorted(a['AliasName'] for a in aliases if a['AliasName'].startswith('alias/page-'))
    out['aliases'] = [n >= 3, mine == ['alias/page-%d' % i for i in range(5)]]
    n, grants = pages('list_grants', 'Grants', KeyId=key)
    out['grants'] = [n, len({g['GrantId'] for g in grants})]
    first = kms.list_resource_tags(KeyId=key, Limit=2)
    rest = kms.list_resource_tags(KeyId=key, Marker=first['NextMarker'])
    out['tags'] = [first['Truncated'], len(first['Tags']), rest['Truncated'], sorted(t['TagKey'] for t in first['Tags'] + rest['Tags'])]

    blob = kms.encrypt(KeyId=key, Plaintext=b'x')['CiphertextBlob']
    disabled = new_key()['KeyId']
    kms.disable_key(KeyId=disabled)
    out['errors'] = {'notFound': shape(lambda: kms.describe_key(KeyId='00000000-0000-4000-8000-000000000000')),
                     'invalidCiphertext': shape(lambda: kms.decrypt(CiphertextBlob=blob[:-1] + bytes([blob[-1] ^ 1]))),
                     'disabled': shape(lambda: kms.generate_data_key(KeyId=disabled, KeySpec='AES_256')),
                     'incorrectKey': shape(lambda: kms.decrypt(CiphertextBlob=blob, KeyId=made[1])),
                     'invalidState': shape(lambda: kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7) and kms.schedule_key_deletion(KeyId=key)),
                     'validation': shape(lambda: kms.generate_data_key(KeyId=made[1])),
                     'unknownTag': shape(lambda: kms.untag_resource(KeyId='00000000-0000-4000-8000-000000000000', TagKeys=['k']))}
    signing = new_key(KeySpec='ECC_NIST_P256', KeyUsage='SIGN_VERIFY')['KeyId']
    mac_key = new_key(KeySpec='HMAC_256', KeyUsage='GENERATE_VERIFY_MAC')['KeyId']
    other = made[1]
    other_blob = kms.encrypt(KeyId=other, Plaintext=b'x')['CiphertextBlob']
    # Valid ones: a dry run makes every check of the call, a signature's and a MAC's too.
    signature = kms.sign(KeyId=signing, Message=b'm', SigningAlgorithm='ECDSA_SHA_256')['Signature']
    mac = kms.generate_mac(KeyId=mac_key, Message=b'm', MacAlgorithm='HMAC_SHA_256')['Mac']
    out['dryRun'] = [shape(fn) for fn in [
        lambda: kms.encrypt(KeyId=other, Plaintext=b'x', DryRun=True),
        lambda: kms.decrypt(CiphertextBlob=other_blob, DryRun=True),
        lambda: kms.re_encrypt(CiphertextBlob=other_blob, DestinationKeyId=other, DryRun=True),
        lambda: kms.generate_data_key(KeyId=other, KeySpec='AES_256', DryRun=True),
        lambda: kms.generate_data_key_without_plaintext(KeyId=other, KeySpec='AES_256', DryRun=True),
        lambda: kms.generate_data_key_pair(KeyId=other, KeyPairSpec='ECC_NIST_P256', DryRun=True),
        lambda: kms.generate_data_key_pair_without_plaintext(KeyId=other, KeyPairSpec='ECC_NIST_P256', DryRun=True),
        lambda: kms.sign(KeyId=signing, Message=b'm', SigningAlgorithm='ECDSA_SHA_256', DryRun=True),
        lambda: kms.verify(KeyId=signing, Message=b'm', Signature=signature, SigningAlgorithm='ECDSA_SHA_256', DryRun=True),
        lambda: kms.generate_mac(KeyId=mac_key, Message=b'm', MacAlgorithm='HMAC_SHA_256', DryRun=True),
        lambda: kms.verify_mac(KeyId=mac_key, Message=b'm', Mac=mac, MacAlgorithm='HMAC_SHA_256', DryRun=True)]]
    out['dryRunFalse'] = kms.decrypt(CiphertextBlob=other_blob, DryRun=False)['Plaintext'] == b'x'
    # A dry run answers what the call would: here the key is pending deletion, or disabled, or not there, or the signature or MAC is wrong.
    out['dryRunFails'] = [code(lambda: kms.decrypt(CiphertextBlob=blob, DryRun=True)), code(lambda: kms.encrypt(KeyId=disabled, Plaintext=b'x', DryRun=True)),
                          code(lambda: kms.encrypt(KeyId='alias/nope', Plaintext=b'x', DryRun=True)),
                          code(lambda: kms.verify(KeyId=signing, Message=b'm', Signature=b'x' * 70, SigningAlgorithm='ECDSA_SHA_256', DryRun=True)),
                          code(lambda: kms.verify_mac(KeyId=mac_key, Message=b'm', Mac=b'x' * 32, MacAlgorithm='HMAC_SHA_256', DryRun=True))]
    return out


SECTIONS = {'symmetric': symmetric, 'asymmetric': asymmetric, 'mac': mac, 'grants': grants,
            'aliases-policies': aliases_policies, 'paging-errors': paging_errors, 'rotation-tags-deletion': rotation_tags_deletion}
print(json.dumps(SECTIONS[sys.argv[1]]()))
