// Entry point of every dashboard page: pick the page's module from <body data-page>.
import { adminPage } from "./admin.js";
import { educatorPage } from "./educator.js";
import { learnerPage } from "./learner.js";

const pages = { learner: learnerPage, "learner-detail": learnerPage, educator: educatorPage, admin: adminPage };
const start = pages[document.body.dataset.page];
if (start) start(document.body);
