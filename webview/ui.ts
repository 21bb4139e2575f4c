// The controls of the graph webview (buttons, search box, toggle), the only module that knows
// they come from @vscode/webview-ui-toolkit. The toolkit is deprecated upstream (archived in
// January 2025); replacing it (with @vscode-elements/elements, or plain themed elements) means
// rewriting this file alone.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeTextField } from '@vscode/webview-ui-toolkit';

let registered = false;

/** Registers the custom elements once. */
export function initUi(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeTextField());
}

export interface ButtonOptions {
  label: string;
  title?: string;
  /** `primary` (filled), `secondary`, or `icon` (a bare glyph). */
  appearance?: 'primary' | 'secondary' | 'icon';
  onClick(): void;
}

export interface Button {
  element: HTMLElement;
  setLabel(text: string): void;
  setDisabled(disabled: boolean): void;
  setHidden(hidden: boolean): void;
}

export function button(o: ButtonOptions): Button {
  const el = document.createElement('vscode-button');
  el.setAttribute('appearance', o.appearance ?? 'secondary');
  el.textContent = o.label;
  if (o.title) {
    el.title = o.title;
    el.setAttribute('aria-label', o.title);
  }
  el.addEventListener('click', () => {
    if (!el.hasAttribute('disabled')) o.onClick();
  });
  return {
    element: el,
    setLabel: (text) => (el.textContent = text),
    setDisabled: (d) => el.toggleAttribute('disabled', d),
    setHidden: (h) => (el.hidden = h),
  };
}

export interface SearchBox {
  element: HTMLElement;
  value(): string;
  setValue(text: string): void;
  focus(): void;
}

export function searchBox(o: {
  placeholder: string;
  label: string;
  value?: string;
  onInput(text: string): void;
  onEnter(text: string, back: boolean): void;
  onEscape(): void;
}): SearchBox {
  const el = document.createElement('vscode-text-field') as HTMLElement & { value: string };
  el.setAttribute('placeholder', o.placeholder);
  el.setAttribute('aria-label', o.label);
  if (o.value) el.setAttribute('value', o.value);
  el.addEventListener('input', () => o.onInput(el.value ?? ''));
  el.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      o.onEnter(el.value ?? '', e.shiftKey);
    } else if (e.key === 'Escape') {
      o.onEscape();
    }
  });
  return {
    element: el,
    value: () => el.value ?? '',
    setValue: (t) => {
      el.value = t;
    },
    focus: () => el.focus(),
  };
}

export function toggle(o: { label: string; checked: boolean; onChange(checked: boolean): void }): {
  element: HTMLElement;
  setChecked(c: boolean): void;
} {
  const el = document.createElement('vscode-checkbox') as HTMLElement & { checked: boolean };
  el.textContent = o.label;
  if (o.checked) el.setAttribute('checked', '');
  el.addEventListener('change', () => o.onChange(!!el.checked));
  return {
    element: el,
    setChecked: (c) => {
      el.checked = c;
    },
  };
}
