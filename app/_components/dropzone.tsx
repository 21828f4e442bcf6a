'use client';
/** Drop, paste or pick image files (and, with `folder`, a whole folder, dropped or chosen). */
import { useEffect, useRef, useState, type ReactNode } from 'react';

/** Where each file of a dropped folder sat in it (a dropped file's own webkitRelativePath is empty). */
const droppedPaths = new WeakMap<File, string>();

/** A file's path inside the folder it came from ("flowers/roses/1.jpg"), or its name when it came alone. */
export function relativePath(file: File): string {
  return droppedPaths.get(file) || file.webkitRelativePath || file.name;
}

/** Hidden files (.DS_Store, ._photo.jpg) and hidden folders are never part of what a user means to add. */
function hidden(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.'));
}

/** Every file under a dropped entry, folders walked to the bottom (readEntries answers in chunks until empty). */
async function filesUnder(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    droppedPaths.set(file, entry.fullPath.replace(/^\//, ''));
    return [file];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const entries: FileSystemEntry[] = [];
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (!chunk.length) break;
    entries.push(...chunk);
  }
  return (await Promise.all(entries.map(filesUnder))).flat();
}

/** The files of a drop: dropped folders are read through their entries, plain files as they are. */
async function droppedFiles(transfer: DataTransfer): Promise<File[]> {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry()).filter((entry) => entry !== null);
  if (!entries.some((entry) => entry.isDirectory)) return [...transfer.files];
  const files = await Promise.all(entries.map(filesUnder));
  return files.flat().filter((file) => !hidden(relativePath(file)));
}

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
        const transfer = e.dataTransfer;
        if (!folder) {
          const files = [...transfer.files];
          if (files.length) onFiles(multiple ? files : files.slice(0, 1));
          return;
        }
        void droppedFiles(transfer).then((files) => files.length && onFiles(files));
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
            const files = [...(e.target.files ?? [])].filter((f) => !hidden(relativePath(f)));
            e.target.value = '';
            if (files.length) onFiles(files);
          }}
        />
      )}
    </div>
  );
}
