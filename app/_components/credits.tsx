'use client';
/** A data set's credits (its ATTRIBUTION.md, read by lib/services/credits.ts), folded away until opened. */
import type { Credits } from '@/lib/services/credits';

const isUrl = (text: string) => /^https?:\/\/\S+$/.test(text);

export function CreditsPanel({ credits, title, testId }: { credits: Credits[]; title: string; testId: string }) {
  if (!credits.length) return null;
  return (
    <details className="credits" data-testid={testId}>
      <summary>{title}</summary>
      {credits.map((file) => (
        <section key={file.name} aria-label={file.name}>
          {file.blocks.map((block, i) => {
            if (block.kind === 'heading') return <h3 key={i}>{block.text}</h3>;
            if (block.kind === 'paragraph') return <p key={i}>{block.text}</p>;
            if (block.kind === 'list')
              return (
                <ul key={i}>
                  {block.items.map((item, j) => (
                    <li key={j}>{item}</li>
                  ))}
                </ul>
              );
            return (
              <table key={i} data-testid={`${testId}-table`}>
                <thead>
                  <tr>
                    {block.header.map((cell, j) => (
                      <th key={j} scope="col">
                        {cell}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {block.rows.map((row, j) => (
                    <tr key={j}>
                      {row.map((cell, c) => (
                        <td key={c}>{isUrl(cell) ? <a href={cell}>{cell}</a> : cell}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            );
          })}
        </section>
      ))}
    </details>
  );
}
