import { PasswordInput, TextInput } from '@mantine/core';
import { useState } from 'react';
import { fmtDate } from '../api';
import { CreateForm, ResourcePage } from '../resource-page';
import type { PanelDatabase, PanelMe } from '../types';

function NewDatabase({
  me,
  close,
  submit,
}: {
  me: PanelMe;
  close: () => void;
  submit: (b: unknown) => Promise<void>;
}) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [domain, setDomain] = useState('');
  return (
    <CreateForm
      close={close}
      submit={submit}
      toBody={() => ({
        name: name.trim(),
        ...(password ? { password } : {}),
        ...(domain.trim() ? { domain: domain.trim() } : {}),
      })}
    >
      <TextInput label="Name" required value={name} onChange={(e) => setName(e.currentTarget.value)} />
      <PasswordInput
        label="Password"
        description="Empty = generated"
        value={password}
        onChange={(e) => setPassword(e.currentTarget.value)}
        autoComplete="new-password"
      />
      <TextInput
        label="Domain"
        description={
          me.role === 'user'
            ? 'Optional: attach to one of your domains'
            : "Optional: the database then belongs to the domain's owner"
        }
        value={domain}
        onChange={(e) => setDomain(e.currentTarget.value)}
      />
    </CreateForm>
  );
}

export default function DatabasesPage({ me }: { me: PanelMe }) {
  return (
    <ResourcePage<PanelDatabase>
      title="Databases"
      description={me.role === 'user' ? 'Your databases' : 'Databases you can manage'}
      path="/databases"
      field="databases"
      noun="database"
      idOf={(d) => d.name}
      searchHint="database name"
      filter={me.role === 'user' ? undefined : { param: 'owner', label: 'owner' }}
      columns={[
        { key: 'name', label: 'Name', render: (d) => d.name },
        { key: 'owner', label: 'Owner', render: (d) => d.owner },
        { key: 'user', label: 'DB user', render: (d) => d.user },
        { key: 'created', label: 'Created', render: (d) => fmtDate(d.created_at) },
      ]}
      createForm={(close, submit) => <NewDatabase me={me} close={close} submit={submit} />}
    />
  );
}
