import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedXmlError } from '../errors.js';
import { grantsOwnerOnly, ownerOnlyAclXml } from './xml-acl.js';

const owner = { id: '000000000000', displayName: 'cipherlake' };
const grant = (grantee: string, permission = 'FULL_CONTROL'): string => `<Grant><Grantee>${grantee}</Grantee><Permission>${permission}</Permission></Grant>`;
const policy = (...grants: string[]): Buffer =>
  Buffer.from(`<AccessControlPolicy><Owner><ID>000000000000</ID></Owner><AccessControlList>${grants.join('')}</AccessControlList></AccessControlPolicy>`);

describe('grantsOwnerOnly', () => {
  it("takes the owner's FULL_CONTROL alone, including the document GetObjectAcl answers", () => {
    assert.equal(grantsOwnerOnly(policy(grant('<ID>000000000000</ID>')), owner), true);
    assert.equal(grantsOwnerOnly(Buffer.from(ownerOnlyAclXml(owner)), owner), true);
  });

  it('refuses any other grant, a lesser permission and an empty list', () => {
    assert.equal(grantsOwnerOnly(policy(grant('<ID>000000000000</ID>'), grant('<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>', 'READ')), owner), false);
    assert.equal(grantsOwnerOnly(policy(grant('<ID>111111111111</ID>')), owner), false);
    assert.equal(grantsOwnerOnly(policy(grant('<EmailAddress>a@example.com</EmailAddress>')), owner), false);
    assert.equal(grantsOwnerOnly(policy(grant('<ID>000000000000</ID>', 'READ')), owner), false);
    assert.equal(grantsOwnerOnly(policy(), owner), false);
    // One Grantee naming the owner and the world at once is not the owner alone.
    assert.equal(grantsOwnerOnly(policy(grant('<ID>000000000000</ID><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>')), owner), false);
    assert.equal(grantsOwnerOnly(policy(grant('<ID>000000000000</ID><EmailAddress>a@example.com</EmailAddress>')), owner), false);
  });

  it('reads references as XML does and refuses a DOCTYPE or an entity it does not define', () => {
    assert.equal(grantsOwnerOnly(policy(grant('<ID>&#48;00000000000</ID><DisplayName>a &amp; b</DisplayName>')), owner), true);
    const doctype = `<!DOCTYPE AccessControlPolicy [<!ENTITY me "000000000000">]>${policy(grant('<ID>&me;</ID>')).toString()}`;
    assert.throws(() => grantsOwnerOnly(Buffer.from(doctype), owner), MalformedXmlError);
    assert.throws(() => grantsOwnerOnly(policy(grant('<ID>&me;</ID>')), owner), MalformedXmlError);
  });

  it('raises MalformedXML for another document or broken XML', () => {
    assert.throws(() => grantsOwnerOnly(Buffer.from('<Tagging/>'), owner), MalformedXmlError);
    assert.throws(() => grantsOwnerOnly(Buffer.from('<AccessControlPolicy>'), owner), MalformedXmlError);
  });
});
