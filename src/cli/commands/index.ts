// One import per command module; each calls addCommand() when loaded.
import "./schema.js";
import "./validate.js";
import "./check.js";
import "./plan.js";
import "./run.js";
import "./status.js";
import "./rollback.js";
import "./finalize.js";
import "./report.js";
import "./wizard.js";
import "./switch.js";
