// A small context menu for a node: a list of actions, keyboard operable (arrows, Enter,
// Escape), closed by a click elsewhere or by losing focus.

export interface MenuItem {
  label: string;
  run(): void;
}

export class ContextMenu {
  private readonly element = document.createElement('div');
  private restoreFocus: HTMLElement | SVGElement | null = null;

  constructor(private readonly host: HTMLElement) {
    this.element.className = 'context-menu';
    this.element.setAttribute('role', 'menu');
    this.element.hidden = true;
    host.appendChild(this.element);
    document.addEventListener('pointerdown', (e) => {
      if (!this.element.hidden && !this.element.contains(e.target as Node)) this.close(false);
    });
    this.element.addEventListener('keydown', (e) => this.onKey(e));
    this.element.addEventListener('focusout', (e) => {
      if (!this.element.contains(e.relatedTarget as Node | null)) this.close(false);
    });
  }

  get isOpen(): boolean {
    return !this.element.hidden;
  }

  open(items: MenuItem[], clientX: number, clientY: number, label: string): void {
    this.restoreFocus = document.activeElement as HTMLElement | null;
    this.element.textContent = '';
    this.element.setAttribute('aria-label', label);
    for (const item of items) {
      const el = document.createElement('div');
      el.className = 'menu-item';
      el.setAttribute('role', 'menuitem');
      el.tabIndex = -1;
      el.textContent = item.label;
      el.addEventListener('click', () => {
        this.close(true);
        item.run();
      });
      this.element.appendChild(el);
    }
    this.element.hidden = false;
    const box = this.host.getBoundingClientRect();
    const w = this.element.offsetWidth;
    const h = this.element.offsetHeight;
    this.element.style.left = `${Math.max(0, Math.min(clientX - box.left, box.width - w - 4))}px`;
    this.element.style.top = `${Math.max(0, Math.min(clientY - box.top, box.height - h - 4))}px`;
    (this.element.firstElementChild as HTMLElement | null)?.focus();
  }

  close(restore = true): void {
    if (this.element.hidden) return;
    this.element.hidden = true;
    if (restore) this.restoreFocus?.focus();
  }

  private onKey(e: KeyboardEvent): void {
    const items = Array.from(this.element.querySelectorAll<HTMLElement>('.menu-item'));
    const at = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      items[next]?.focus();
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      items[at]?.click();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      this.close(true);
    }
  }
}
