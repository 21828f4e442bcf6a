/**
 * DICOM de-identification (dcmjs; this file alone imports it) following the DICOM PS3.15 Annex E
 * Basic Application Level Confidentiality Profile: the attributes that identify a patient, the
 * people and places around them and the moment of the study are removed, emptied (type 2
 * attributes that must stay present) or, for UIDs, replaced by new ones derived from the old
 * (the same study keeps one study UID, so series stay together). Private attributes, curves and
 * overlay comments go. Pixel data and the attributes the app reads (size, bit depth, photometric
 * interpretation, rescale, window, modality, body part, view position) are left as they are.
 *
 * Deterministic: the same file always gives the same bytes, so importing it twice still finds
 * one image (content hash of what is stored).
 */
import { createHash } from 'node:crypto';
import dcmjs, { type DicomDataset, type DicomElement } from 'dcmjs';
import { AppError } from '../errors';

// dcmjs warns on the console about every odd VR it repairs while reading; a refusal is our error.
dcmjs.log.setLevel('error');

/** What the profile does to an attribute (PS3.15 Table E.1-1 action codes in brackets). */
export type DeidentifyAction = 'remove' /* X */ | 'empty' /* Z */ | 'replace-uid'; /* U */

export interface ProfileAttribute {
  tag: string;
  keyword: string;
  action: DeidentifyAction;
}

const attribute = (tag: string, keyword: string, action: DeidentifyAction): ProfileAttribute => ({ tag, keyword, action });

/**
 * The attributes handled, with their action. Type 2 attributes a valid file must carry (patient
 * name and ID, study date, accession number…) are emptied; the rest are removed.
 */
export const BASIC_PROFILE: readonly ProfileAttribute[] = Object.freeze([
  attribute('00080012', 'InstanceCreationDate', 'remove'),
  attribute('00080013', 'InstanceCreationTime', 'remove'),
  attribute('00080014', 'InstanceCreatorUID', 'replace-uid'),
  attribute('00080018', 'SOPInstanceUID', 'replace-uid'),
  attribute('00080020', 'StudyDate', 'empty'),
  attribute('00080021', 'SeriesDate', 'remove'),
  attribute('00080022', 'AcquisitionDate', 'remove'),
  attribute('00080023', 'ContentDate', 'empty'),
  attribute('00080024', 'OverlayDate', 'remove'),
  attribute('00080025', 'CurveDate', 'remove'),
  attribute('0008002A', 'AcquisitionDateTime', 'remove'),
  attribute('00080030', 'StudyTime', 'empty'),
  attribute('00080031', 'SeriesTime', 'remove'),
  attribute('00080032', 'AcquisitionTime', 'remove'),
  attribute('00080033', 'ContentTime', 'empty'),
  attribute('00080050', 'AccessionNumber', 'empty'),
  attribute('00080080', 'InstitutionName', 'remove'),
  attribute('00080081', 'InstitutionAddress', 'remove'),
  attribute('00080082', 'InstitutionCodeSequence', 'remove'),
  attribute('00080090', 'ReferringPhysicianName', 'empty'),
  attribute('00080092', 'ReferringPhysicianAddress', 'remove'),
  attribute('00080094', 'ReferringPhysicianTelephoneNumbers', 'remove'),
  attribute('00080096', 'ReferringPhysicianIdentificationSequence', 'remove'),
  attribute('00080201', 'TimezoneOffsetFromUTC', 'remove'),
  attribute('00081010', 'StationName', 'remove'),
  attribute('00081030', 'StudyDescription', 'remove'),
  attribute('0008103E', 'SeriesDescription', 'remove'),
  attribute('00081040', 'InstitutionalDepartmentName', 'remove'),
  attribute('00081048', 'PhysiciansOfRecord', 'remove'),
  attribute('00081049', 'PhysiciansOfRecordIdentificationSequence', 'remove'),
  attribute('00081050', 'PerformingPhysicianName', 'remove'),
  attribute('00081052', 'PerformingPhysicianIdentificationSequence', 'remove'),
  attribute('00081060', 'NameOfPhysiciansReadingStudy', 'remove'),
  attribute('00081062', 'PhysiciansReadingStudyIdentificationSequence', 'remove'),
  attribute('00081070', 'OperatorsName', 'remove'),
  attribute('00081072', 'OperatorIdentificationSequence', 'remove'),
  attribute('00081080', 'AdmittingDiagnosesDescription', 'remove'),
  attribute('00081084', 'AdmittingDiagnosesCodeSequence', 'remove'),
  attribute('00081110', 'ReferencedStudySequence', 'remove'),
  attribute('00081111', 'ReferencedPerformedProcedureStepSequence', 'remove'),
  attribute('00081120', 'ReferencedPatientSequence', 'remove'),
  attribute('00081140', 'ReferencedImageSequence', 'remove'),
  attribute('00081155', 'ReferencedSOPInstanceUID', 'replace-uid'),
  attribute('00082111', 'DerivationDescription', 'remove'),
  attribute('00100010', 'PatientName', 'empty'),
  attribute('00100020', 'PatientID', 'empty'),
  attribute('00100021', 'IssuerOfPatientID', 'remove'),
  attribute('00100030', 'PatientBirthDate', 'empty'),
  attribute('00100032', 'PatientBirthTime', 'remove'),
  attribute('00100040', 'PatientSex', 'empty'),
  attribute('00100050', 'PatientInsurancePlanCodeSequence', 'remove'),
  attribute('00101000', 'OtherPatientIDs', 'remove'),
  attribute('00101001', 'OtherPatientNames', 'remove'),
  attribute('00101002', 'OtherPatientIDsSequence', 'remove'),
  attribute('00101005', 'PatientBirthName', 'remove'),
  attribute('00101010', 'PatientAge', 'remove'),
  attribute('00101020', 'PatientSize', 'remove'),
  attribute('00101030', 'PatientWeight', 'remove'),
  attribute('00101040', 'PatientAddress', 'remove'),
  attribute('00101060', 'PatientMotherBirthName', 'remove'),
  attribute('00101090', 'MedicalRecordLocator', 'remove'),
  attribute('00102154', 'PatientTelephoneNumbers', 'remove'),
  attribute('00102160', 'EthnicGroup', 'remove'),
  attribute('00102180', 'Occupation', 'remove'),
  attribute('001021B0', 'AdditionalPatientHistory', 'remove'),
  attribute('001021F0', 'PatientReligiousPreference', 'remove'),
  attribute('00104000', 'PatientComments', 'remove'),
  attribute('00181000', 'DeviceSerialNumber', 'remove'),
  attribute('00181004', 'PlateID', 'remove'),
  attribute('00181030', 'ProtocolName', 'remove'),
  attribute('0018700A', 'DetectorID', 'remove'),
  attribute('0020000D', 'StudyInstanceUID', 'replace-uid'),
  attribute('0020000E', 'SeriesInstanceUID', 'replace-uid'),
  attribute('00200010', 'StudyID', 'empty'),
  attribute('00200052', 'FrameOfReferenceUID', 'replace-uid'),
  attribute('00200200', 'SynchronizationFrameOfReferenceUID', 'replace-uid'),
  attribute('00204000', 'ImageComments', 'remove'),
  attribute('00321032', 'RequestingPhysician', 'remove'),
  attribute('00321060', 'RequestedProcedureDescription', 'remove'),
  attribute('00320012', 'StudyIDIssuer', 'remove'),
  attribute('00380010', 'AdmissionID', 'remove'),
  attribute('00400244', 'PerformedProcedureStepStartDate', 'remove'),
  attribute('00400245', 'PerformedProcedureStepStartTime', 'remove'),
  attribute('00400253', 'PerformedProcedureStepID', 'remove'),
  attribute('00400254', 'PerformedProcedureStepDescription', 'remove'),
  attribute('00400275', 'RequestAttributesSequence', 'remove'),
  attribute('00401001', 'RequestedProcedureID', 'remove'),
  attribute('00402016', 'PlacerOrderNumberImagingServiceRequest', 'remove'),
  attribute('00402017', 'FillerOrderNumberImagingServiceRequest', 'remove'),
  attribute('0040A124', 'UID', 'replace-uid'),
  attribute('00880140', 'StorageMediaFileSetUID', 'replace-uid'),
]);

const BY_TAG: ReadonlyMap<string, ProfileAttribute> = new Map(BASIC_PROFILE.map((a) => [a.tag, a]));

/** What the stored file says about itself (PS3.15 E.1.1): read back by the decoder into the image's metadata. */
export const DEIDENTIFICATION_METHOD = 'DICOM PS3.15 Basic Profile (Latent Atlas)';

/** Private attributes (odd group), curve data (50xx) and overlay comments and data (60xx,3000/4000): removed wherever they are. */
function removedByRule(tag: string): boolean {
  const group = parseInt(tag.slice(0, 4), 16);
  if (group % 2 === 1) return true;
  if (tag.startsWith('50')) return true;
  return tag.startsWith('60') && (tag.endsWith('3000') || tag.endsWith('4000'));
}

/** A new UID for `uid`, the same every time: 2.25.<128 bits of its sha-256> (PS3.5 B.2). */
export function replacementUid(uid: string): string {
  const digest = createHash('sha256').update(`latent-atlas-deidentify:${uid.trim()}`).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}

function emptied(element: DicomElement): DicomElement {
  return { vr: element.vr, Value: [] };
}

/** Applies the profile to `dataset` in place, nested sequences included; counts what it changed. */
function deidentifyDataset(dataset: DicomDataset, changed: Set<string>): void {
  for (const [tag, element] of Object.entries(dataset)) {
    const rule = BY_TAG.get(tag);
    if (removedByRule(tag) || rule?.action === 'remove') {
      delete dataset[tag];
      changed.add(tag);
    } else if (rule?.action === 'empty') {
      dataset[tag] = emptied(element);
      changed.add(tag);
    } else if (rule?.action === 'replace-uid') {
      dataset[tag] = { vr: element.vr, Value: (element.Value ?? []).map((uid) => replacementUid(String(uid))) };
      changed.add(tag);
    } else if (element.vr === 'SQ') {
      for (const item of element.Value ?? []) deidentifyDataset(item as DicomDataset, changed);
    }
  }
}

export interface DeidentifiedDicom {
  bytes: Uint8Array;
  /** Tags (8 hex digits) removed, emptied or replaced somewhere in the file. */
  changed: string[];
}

/**
 * The file de-identified by the basic profile. AppError('invalid_input') when dcmjs cannot read
 * it: a file that cannot be de-identified is never stored as it is.
 */
export function deidentifyDicom(bytes: Uint8Array): DeidentifiedDicom {
  let parsed: ReturnType<typeof dcmjs.data.DicomMessage.readFile>;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    parsed = dcmjs.data.DicomMessage.readFile(buffer);
  } catch (error) {
    throw new AppError('invalid_input', 'DICOM: the file cannot be read for de-identification, so it is not stored', { cause: error });
  }
  const changed = new Set<string>();
  deidentifyDataset(parsed.dict, changed);
  parsed.dict['00120062'] = { vr: 'CS', Value: ['YES'] };
  parsed.dict['00120063'] = { vr: 'LO', Value: [DEIDENTIFICATION_METHOD] };
  // The file meta header names the instance too; it must match the new SOP Instance UID.
  const sop = parsed.dict['00080018']?.Value?.[0];
  if (sop !== undefined) parsed.meta['00020003'] = { vr: 'UI', Value: [String(sop)] };
  delete parsed.meta['00020016']; // Source Application Entity Title: names the sending station
  try {
    return { bytes: new Uint8Array(parsed.write()), changed: [...changed].sort() };
  } catch (error) {
    throw new AppError('invalid_input', 'DICOM: the de-identified file cannot be written, so it is not stored', { cause: error });
  }
}
