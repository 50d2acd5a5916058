import { uiMessage, uiRefresh } from "../ui/phone-ui";

/** A new IM is in the inbox: redraw the phone's screen (the IM screen lists the inbox). */
export function imUiNotify(): void { uiRefresh(); }

/** A message could not be delivered or held: shown on the phone's screen (event `ui.message`). */
export function imUiFailed(text: string): void { uiMessage(text); }
