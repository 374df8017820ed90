import { TextInput } from '@mantine/core';
import { useState } from 'react';
import { fmtDate } from '../api';
import { CreateForm, ResourcePage } from '../resource-page';
import type { PanelDomain, PanelMe } from '../types';

function NewDomain({
  me,
  close,
  submit,
}: {
  me: PanelMe;
  close: () => void;
  submit: (b: unknown) => Promise<void>;
}) {
  const [domain, setDomain] = useState('');
  const [owner, setOwner] = useState('');
  return (
    <CreateForm
      close={close}
      submit={submit}
      toBody={() => ({ domain: domain.trim(), ...(owner.trim() ? { owner: owner.trim() } : {}) })}
    >
      <TextInput
        label="Domain"
        placeholder="example.com"
        required
        value={domain}
        onChange={(e) => setDomain(e.currentTarget.value)}
      />
      {me.role !== 'user' ? (
        <TextInput
          label="Owner"
          description="Username; empty = you"
          value={owner}
          onChange={(e) => setOwner(e.currentTarget.value)}
        />
      ) : null}
    </CreateForm>
  );
}

export default function DomainsPage({ me }: { me: PanelMe }) {
  return (
    <ResourcePage<PanelDomain>
      title="Domains"
      description={me.role === 'user' ? 'Your domains' : 'Domains you can manage'}
      path="/domains"
      field="domains"
      noun="domain"
      idOf={(d) => d.domain}
      searchHint="domain name"
      filter={me.role === 'user' ? undefined : { param: 'owner', label: 'owner' }}
      columns={[
        { key: 'domain', label: 'Domain', render: (d) => d.domain },
        { key: 'owner', label: 'Owner', render: (d) => d.owner },
        { key: 'created', label: 'Created', render: (d) => fmtDate(d.created_at) },
      ]}
      createForm={(close, submit) => <NewDomain me={me} close={close} submit={submit} />}
    />
  );
}
