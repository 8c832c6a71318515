// The painter page: builds the shared state, attaches one panel per job to it, and loads the models.
// Panels call each other through `page` when they run, so the order below is only the order of set-up.

import { createAspectDialog } from "./page/aspectdialog.js";
import { createPage } from "./page/context.js";
import { createDrawingPanel } from "./page/drawingpanel.js";
import { createFileMenu } from "./page/filemenu.js";
import { hideError } from "./page/messages.js";
import { createModelPanel } from "./page/modelpanel.js";
import { createPicturePanel } from "./page/picturepanel.js";
import { createPlacementPanel } from "./page/placementpanel.js";
import { attachSettingsDialog } from "./page/settingsdialog.js";
import { createStylePanel } from "./page/stylepanel.js";
import { createToolbar } from "./page/toolbar.js";

const page = createPage();
page.where = createPlacementPanel(page); // where pictures are painted, and the status
page.picture = createPicturePanel(page);
page.styles = createStylePanel(page);
page.tools = createToolbar(page);
page.drawing = createDrawingPanel(page);
page.aspect = createAspectDialog(page);
page.files = createFileMenu(page);
page.models = createModelPanel(page);
attachSettingsDialog(page);
document.getElementById("error-close").addEventListener("click", hideError);

page.models.loadCatalogue();
