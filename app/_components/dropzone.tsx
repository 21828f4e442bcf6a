'use client';
/** Drop, paste or pick image files (and, with `folder`, a whole folder). */
import { useEffect, useRef, useState, type ReactNode } from 'react';

export function Dropzone({
  onFiles,
  multiple = false,
  folder = false,
  children,
  testId = 'dropzone',
}: {
  onFiles: (files: File[]) => void;
  multiple?: boolean;
  folder?: boolean;
  children?: ReactNode;
  testId?: string;
}) {
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    const onPaste = (event: ClipboardEvent) => {
      const files = [...(event.clipboardData?.files ?? [])];
      if (files.length) onFiles(multiple ? files : files.slice(0, 1));
    };
    window.addEventListener('paste', onPaste);
    return () => window.removeEventListener('paste', onPaste);
  }, [onFiles, multiple]);
  useEffect(() => {
    folderInput.current?.setAttribute('webkitdirectory', '');
  }, []);
  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      data-testid={testId}
      onDragOver={(e) => {
        e.preventDefault();
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(e) => {
        e.preventDefault();
        setOver(false);
        const files = [...e.dataTransfer.files];
        if (files.length) onFiles(multiple ? files : files.slice(0, 1));
      }}
    >
      <p>{children ?? 'Drop an image here, paste one, or'}</p>
      <button type="button" onClick={() => input.current?.click()} data-testid={`${testId}-choose`}>
        choose {multiple ? 'files' : 'a file'}
      </button>
      {folder && (
        <button type="button" onClick={() => folderInput.current?.click()} data-testid={`${testId}-choose-folder`}>
          choose a folder
        </button>
      )}
      <input
        ref={input}
        type="file"
        hidden
        multiple={multiple}
        data-testid={`${testId}-input`}
        onChange={(e) => {
          const files = [...(e.target.files ?? [])];
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
      {folder && (
        <input
          ref={folderInput}
          type="file"
          hidden
          multiple
          data-testid={`${testId}-folder`}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])].filter((f) => !f.name.startsWith('.'));
            e.target.value = '';
            if (files.length) onFiles(files);
          }}
        />
      )}
    </div>
  );
}
