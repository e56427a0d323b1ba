// Asks for an API key when the server refuses the page without one.
import { useState, type FormEvent } from "react";

export function KeyPrompt({ onKey, refused }: { onKey: (key: string) => void; refused: boolean }) {
  const [key, setKey] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (key.trim()) onKey(key.trim());
  };
  return (
    <form className="key-prompt" onSubmit={submit} data-testid="key-prompt">
      <h2>This server needs an API key</h2>
      <p>
        {refused ? "The key was refused. " : ""}Paste a key made with <code>riskengine keys create --tenant NAME</code>;
        it is kept for this browser tab only.
      </p>
      <label htmlFor="api-key">API key</label>
      <input id="api-key" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
      <button type="submit">Use key</button>
    </form>
  );
}
