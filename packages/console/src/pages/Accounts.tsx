import { PasswordInput, Select, TextInput } from '@mantine/core';
import { useState } from 'react';
import { fmtDate } from '../api';
import { CreateForm, ResourcePage } from '../resource-page';
import type { PanelMe, PanelUser } from '../types';

function NewAccount({
  me,
  close,
  submit,
}: {
  me: PanelMe;
  close: () => void;
  submit: (b: unknown) => Promise<void>;
}) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<string | null>('user');
  return (
    <CreateForm
      close={close}
      submit={submit}
      toBody={() => ({ username, email, password, role: role ?? 'user' })}
    >
      <TextInput
        label="Username"
        description="a lowercase letter, then a-z 0-9 _"
        required
        value={username}
        onChange={(e) => setUsername(e.currentTarget.value)}
      />
      <TextInput
        label="E-mail"
        type="email"
        required
        value={email}
        onChange={(e) => setEmail(e.currentTarget.value)}
      />
      <PasswordInput
        label="Password"
        required
        value={password}
        onChange={(e) => setPassword(e.currentTarget.value)}
        autoComplete="new-password"
      />
      <Select
        label="Role"
        data={me.role === 'admin' ? ['user', 'reseller', 'admin'] : ['user']}
        value={role}
        onChange={setRole}
        allowDeselect={false}
      />
    </CreateForm>
  );
}

export default function AccountsPage({ me }: { me: PanelMe }) {
  return (
    <ResourcePage<PanelUser>
      title="Accounts"
      description={me.role === 'admin' ? 'Every account on this server' : 'The accounts you created'}
      path="/users"
      field="users"
      noun="account"
      idOf={(u) => u.username}
      searchHint="username or e-mail"
      filter={{
        param: 'role',
        label: 'role',
        options: [
          { value: 'admin', label: 'Admin' },
          { value: 'reseller', label: 'Reseller' },
          { value: 'user', label: 'User' },
        ],
      }}
      columns={[
        { key: 'username', label: 'Username', render: (u) => u.username },
        { key: 'email', label: 'E-mail', render: (u) => u.email },
        { key: 'role', label: 'Role', render: (u) => u.role },
        { key: 'created', label: 'Created', render: (u) => fmtDate(u.created_at) },
      ]}
      createForm={(close, submit) => <NewAccount me={me} close={close} submit={submit} />}
    />
  );
}
