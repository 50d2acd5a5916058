import { uiRefresh } from "../ui/phone-ui";

/** A new IM is in the inbox: redraw the phone's screen (the IM screen lists the inbox). */
export function imUiNotify(): void { uiRefresh(); }
