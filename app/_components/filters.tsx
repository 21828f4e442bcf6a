'use client';
/** The image filters shared by the search and library pages: modality and label ('' = any). */
export function ImageFilters({
  modality,
  label,
  labels,
  onChange,
  testId,
}: {
  modality: string;
  label: string;
  labels: { label: string; count: number }[] | undefined;
  onChange: (change: { modality?: string; label?: string }) => void;
  testId: string;
}) {
  return (
    <>
      <label>
        modality
        <select value={modality} onChange={(e) => onChange({ modality: e.target.value })} data-testid={`${testId}-modality`}>
          <option value="">any</option>
          <option value="photo">photo</option>
          <option value="xray">X-ray</option>
          <option value="dicom">DICOM</option>
        </select>
      </label>
      <label>
        label
        <select value={label} onChange={(e) => onChange({ label: e.target.value })} data-testid={`${testId}-label`}>
          <option value="">any</option>
          {labels?.map((l) => (
            <option key={l.label} value={l.label}>
              {l.label} ({l.count})
            </option>
          ))}
        </select>
      </label>
    </>
  );
}
