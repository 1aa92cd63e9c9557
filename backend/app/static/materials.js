// The materials of an application, each met by a valid e-licence where the citizen has one
// (数据跑路，群众少跑腿): shared by 在线申请 and 一件事一次办, so both decide alike.

const { reactive } = Vue;

// One row per material of the guide: the licence that meets it, or how to bring it.
export function materialRows(materials, licences) {
  const usable = Object.fromEntries(
    licences.filter((l) => l.status === "valid").map((l) => [l.type_code, l])
  );
  return materials.map((m) => {
    const licence = m.licence_type ? usable[m.licence_type] : null;
    return reactive({
      name: m.name,
      required: m.required,
      licence,
      ready: false,
      label: licence ? `电子证照 ${licence.title}` : [m.form, m.note].filter(Boolean).join(" · "),
    });
  });
}

// The citizen's message when a required material is neither a licence nor ticked as ready.
export function missingMaterials(rows) {
  const missing = rows.filter((m) => m.required && !m.licence && !m.ready);
  return missing.length ? `请备齐材料：${missing.map((m) => m.name).join("、")}` : "";
}
