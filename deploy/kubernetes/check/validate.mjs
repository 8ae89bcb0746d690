// Validates Kubernetes manifests against the Kubernetes OpenAPI schemas
// (kubernetes-models: validators generated from the Kubernetes API's own
// spec): types, required fields, enums and formats. Unknown fields are not
// refused by those schemas.
// Usage: node validate.mjs FILE.yaml…
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const groups = {
  "v1": "kubernetes-models/v1",
  "apps/v1": "kubernetes-models/apps/v1",
  "policy/v1": "kubernetes-models/policy/v1",
  "networking.k8s.io/v1": "kubernetes-models/networking.k8s.io/v1",
};

let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length) { console.error(`${file}: ${doc.errors[0].message}`); failed++; continue; }
    const obj = doc.toJS();
    if (!obj) continue;
    const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
    const mod = groups[obj.apiVersion] && await import(groups[obj.apiVersion]);
    const Model = mod && mod[obj.kind];
    if (!Model) { console.error(`${where}: unknown apiVersion/kind ${obj.apiVersion} ${obj.kind}`); failed++; continue; }
    try {
      new Model(obj).validate();
    } catch (e) {
      console.error(`${where}: ${e.message}`); failed++; continue;
    }
    console.log(`ok ${where}`);
  }
}
if (failed) { console.error(`${failed} invalid document(s)`); process.exit(1); }
