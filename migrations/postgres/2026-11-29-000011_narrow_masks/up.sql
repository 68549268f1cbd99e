-- Masks that mask: a resident ID keeps its first 3 and last 2 characters, any other document its last 2, a phone
-- its first 3 and last 2 digits. The old masks showed the first 4 and last 4 (or the last 2 of a short number), a
-- superset of the new ones, so each new mask is cut from the stored old one.
UPDATE tenancies SET id_number_masked = substr(id_number_masked, 1, 3) || '*************' || substr(id_number_masked, 17, 2)
WHERE id_type = 'resident_id' AND length(id_number_masked) = 18;
UPDATE tenancies SET id_number_masked = substr('********************************', 1, length(id_number_masked) - 2)
    || substr(id_number_masked, length(id_number_masked) - 1, 2)
WHERE id_type <> 'resident_id' AND length(id_number_masked) > 2;
UPDATE tenancies SET phone_masked = substr(phone_masked, 1, 3) || '******' || substr(phone_masked, 10, 2)
WHERE phone_masked IS NOT NULL AND length(phone_masked) = 11;
-- The declaration's audit event kept the masked number too.
UPDATE audit_events a
SET detail = jsonb_set(a.detail::jsonb, '{id_number_masked}', to_jsonb(t.id_number_masked))::text
FROM tenancies t
WHERE t.id = a.entity_id
  AND a.action = 'tenancy.declared'
  AND a.detail::jsonb ? 'id_number_masked';
